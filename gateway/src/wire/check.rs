//! Range checks shared by both directions.

use super::error::WireError;

/// `value` must lie in `min..=max`.
pub(crate) fn range(field: &'static str, value: u32, min: u32, max: u32) -> Result<u32, WireError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(WireError::OutOfBounds {
            field,
            value,
            min,
            max,
        })
    }
}

/// A width or height: 1..=max.
pub(crate) fn extent(field: &'static str, value: u16, max: u16) -> Result<u16, WireError> {
    range(field, u32::from(value), 1, u32::from(max)).map(|_| value)
}

/// A coordinate: 0..max (a pixel position inside a screen of at most `max`).
pub(crate) fn coord(field: &'static str, value: u16, max: u16) -> Result<u16, WireError> {
    range(field, u32::from(value), 0, u32::from(max).saturating_sub(1)).map(|_| value)
}

/// A rectangle `x, y, w, h` that fits in `width × height`; `field` names the rectangle.
pub(crate) fn rect(
    field: &'static str,
    [x, y, w, h]: [u16; 4],
    width: u16,
    height: u16,
) -> Result<(), WireError> {
    extent(field, w, width)?;
    extent(field, h, height)?;
    // Widen before adding: u16 + u16 may overflow, u32 cannot.
    range(field, u32::from(x) + u32::from(w), 1, u32::from(width))?;
    range(field, u32::from(y) + u32::from(h), 1, u32::from(height))?;
    Ok(())
}

/// A byte string no longer than `max`.
pub(crate) fn len(field: &'static str, len: usize, max: usize) -> Result<(), WireError> {
    if len > max {
        Err(WireError::TextTooLong { field, len, max })
    } else {
        Ok(())
    }
}

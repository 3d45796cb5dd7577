//! Display: framebuffer, damage and tile encoder through the public API. A model browser
//! canvas applies every frame (decoding PNG tiles with the `png` crate) and is compared pixel
//! for pixel with the framebuffer.

use hamn_gateway::display::{
    CELL, Damage, Encoder, EncoderConfig, Encoding, Frame, Framebuffer, Lossless, PixelFormat,
    PngLevel, Point, Rect, TileOp, encode_webp,
};
use proptest::prelude::*;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/display/demo-app.png"
);

/// The demo app screenshot as RGBA (1280×800).
fn demo_screen() -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(FIXTURE).expect("fixture");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let rgba = to_rgba(&buf[..info.buffer_size()], info.color_type);
    (info.width, info.height, rgba)
}

fn to_rgba(data: &[u8], color: png::ColorType) -> Vec<u8> {
    match color {
        png::ColorType::Rgb => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::Rgba => data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    }
}

/// A PNG tile as (width, height, RGBA); shared with the session tests.
pub(crate) fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("tile header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("tile data");
    (
        info.width,
        info.height,
        to_rgba(&buf[..info.buffer_size()], info.color_type),
    )
}

/// A WebP tile as (width, height, RGBA); shared with the session tests.
pub(crate) fn decode_webp(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder =
        image_webp::WebPDecoder::new(std::io::Cursor::new(bytes)).expect("webp header");
    let (w, h) = decoder.dimensions();
    let mut buf = vec![0; decoder.output_buffer_size().expect("size")];
    decoder.read_image(&mut buf).expect("webp data");
    let color = if decoder.has_alpha() {
        png::ColorType::Rgba
    } else {
        png::ColorType::Rgb
    };
    (w, h, to_rgba(&buf, color))
}

/// A framebuffer showing the demo screenshot.
fn demo_framebuffer() -> (Framebuffer, Vec<u8>) {
    let (w, h, rgba) = demo_screen();
    let mut fb = Framebuffer::new(w, h, PixelFormat::Rgba32).expect("framebuffer");
    fb.write_rect(Rect::new(0, 0, w, h), &rgba, w as usize * 4)
        .expect("write");
    (fb, rgba)
}

/// Pixels JPEG tiles are painted with in the model: a browser showing lossy pixels must
/// never equal the framebuffer until the lossless refinement came.
const LOSSY_MARK: [u8; 4] = [255, 0, 255, 255];

/// What the browser shows, applying frames like the canvas client does.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Self {
            width: 0,
            height: 0,
            pixels: Vec::new(),
        }
    }

    fn apply(&mut self, frame: &Frame) {
        if frame.keyframe || (frame.width, frame.height) != (self.width, self.height) {
            self.width = frame.width;
            self.height = frame.height;
            self.pixels = vec![0; (frame.width * frame.height * 4) as usize];
        }
        let stride = self.width as usize * 4;
        for op in &frame.ops {
            match op {
                TileOp::CopyRect { src, dst } => {
                    assert!(src.right() <= self.width && src.bottom() <= self.height);
                    assert!(dst.x + src.width <= self.width && dst.y + src.height <= self.height);
                    let rows: Vec<u32> = if dst.y > src.y {
                        (0..src.height).rev().collect()
                    } else {
                        (0..src.height).collect()
                    };
                    for dy in rows {
                        let from = (src.y + dy) as usize * stride + src.x as usize * 4;
                        let to = (dst.y + dy) as usize * stride + dst.x as usize * 4;
                        self.pixels
                            .copy_within(from..from + src.width as usize * 4, to);
                    }
                }
                TileOp::Tile(tile) => {
                    let r = tile.rect;
                    assert!(
                        r.right() <= self.width && r.bottom() <= self.height,
                        "{r:?}"
                    );
                    let pixels = match tile.encoding {
                        Encoding::Png => {
                            let (w, h, px) = decode_png(&tile.bytes);
                            assert_eq!((w, h), (r.width, r.height));
                            px
                        }
                        Encoding::WebP => {
                            let (w, h, px) = decode_webp(&tile.bytes);
                            assert_eq!((w, h), (r.width, r.height));
                            px
                        }
                        Encoding::Jpeg { .. } => {
                            assert_eq!(&tile.bytes[..2], &[0xFF, 0xD8], "JPEG SOI");
                            LOSSY_MARK.repeat(r.area() as usize)
                        }
                    };
                    for dy in 0..r.height {
                        let to = (r.y + dy) as usize * stride + r.x as usize * 4;
                        let from = (dy * r.width * 4) as usize;
                        let len = r.width as usize * 4;
                        self.pixels[to..to + len].copy_from_slice(&pixels[from..from + len]);
                    }
                }
            }
        }
    }

    fn matches(&self, fb: &Framebuffer) -> bool {
        (self.width, self.height) == (fb.width(), fb.height()) && self.pixels == fb.pixels()
    }
}

/// Takes the next frame, applies and acknowledges it.
fn pump(encoder: &mut Encoder, fb: &Framebuffer, canvas: &mut Canvas) -> Option<Frame> {
    let frame = encoder.take_frame(fb).expect("encode")?;
    canvas.apply(&frame);
    assert!(encoder.ack(frame.id));
    Some(frame)
}

fn lossless() -> EncoderConfig {
    EncoderConfig {
        lossy: false,
        ..EncoderConfig::default()
    }
}

/// Deterministic noise (xorshift), many colours per tile.
fn noise(len_pixels: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len_pixels * 4);
    for _ in 0..len_pixels {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [a, b, c, ..] = state.to_le_bytes();
        out.extend_from_slice(&[a, b, c, 255]);
    }
    out
}

#[test]
fn damage_coalesces_cells_into_few_rectangles() {
    let mut damage = Damage::new(1280, 800);
    assert!(damage.is_empty());
    // Glyph-sized rectangles along one text line: one band of cells.
    for i in 0..36 {
        damage.add_rect(Rect::new(100 + i * 9, 130, 8, 14));
    }
    assert_eq!(damage.rects(4096, 4096), vec![Rect::new(64, 128, 384, 64)]);
    // Capped at 256 wide.
    assert_eq!(
        damage.rects(256, 256),
        vec![Rect::new(64, 128, 256, 64), Rect::new(320, 128, 128, 64)]
    );

    let mut other = Damage::new(1280, 800);
    other.add_rect(Rect::new(64, 192, 384, 10));
    damage.union(&other);
    assert_eq!(damage.rects(4096, 4096), vec![Rect::new(64, 128, 384, 128)]);
    assert_eq!(damage.bounds(), Some(Rect::new(64, 128, 384, 128)));

    // The last row and column of cells are clipped to the screen.
    let mut edge = Damage::new(1280, 800);
    edge.add_rect(Rect::new(1270, 790, 100, 100));
    assert_eq!(edge.rects(256, 256), vec![Rect::new(1216, 768, 64, 32)]);

    // Union with a different size (a resize in between) damages everything.
    let mut resized = Damage::new(640, 480);
    resized.union(&Damage::new(800, 600));
    assert_eq!(
        resized.cell_count(),
        (800usize.div_ceil(64)) * (600usize.div_ceil(64))
    );
}

#[test]
fn identical_repaint_causes_no_damage_and_no_frame() {
    let (mut fb, rgba) = demo_framebuffer();
    let mut encoder = Encoder::new(EncoderConfig::default());
    let mut canvas = Canvas::new();
    let first = pump(&mut encoder, &fb, &mut canvas).expect("keyframe");
    assert!(first.keyframe);
    assert!(canvas.matches(&fb));

    let generation = fb.generation();
    fb.write_rect(Rect::new(0, 0, 1280, 800), &rgba, 1280 * 4)
        .expect("repaint");
    fb.fill(Rect::new(0, 0, 1, 1), [rgba[0], rgba[1], rgba[2]]);
    assert_eq!(fb.generation(), generation);
    assert!(fb.damage_since(generation).is_empty());
    // An idle session's tick skips the encode altogether.
    assert!(!encoder.has_work(fb.generation()));
    assert_eq!(encoder.take_frame(&fb).expect("encode"), None);

    // Paint something, then paint the original back before the next frame: no frame either.
    fb.fill(Rect::new(500, 500, 40, 40), [1, 2, 3]);
    assert!(!fb.damage_since(generation).is_empty());
    assert!(encoder.has_work(fb.generation()));
    fb.write_rect(Rect::new(0, 0, 1280, 800), &rgba, 1280 * 4)
        .expect("repaint");
    assert_eq!(encoder.take_frame(&fb).expect("encode"), None);
}

#[test]
fn lossless_tiles_reproduce_exact_pixels() {
    let configs = [
        (Lossless::WebP, Encoding::WebP),
        (Lossless::Png(PngLevel::Fast), Encoding::Png),
        // Balanced PNG uses a palette for tiles with at most 256 colours.
        (Lossless::Png(PngLevel::Balanced), Encoding::Png),
        (Lossless::Png(PngLevel::Fastest), Encoding::Png),
    ];
    for (lossless, encoding) in configs {
        let (mut fb, _) = demo_framebuffer();
        // A many-colour area next to the UI: true colour and palette tiles in one frame.
        fb.write_rect(Rect::new(700, 450, 200, 150), &noise(200 * 150, 7), 200 * 4)
            .expect("noise");
        let config = EncoderConfig {
            lossless,
            ..EncoderConfig::default()
        };
        let mut encoder = Encoder::new(config);
        let mut canvas = Canvas::new();
        let frame = pump(&mut encoder, &fb, &mut canvas).expect("keyframe");
        assert!(frame.tiles().all(|t| t.encoding == encoding));
        assert!(
            frame
                .tiles()
                .all(|t| t.rect.width <= 256 && t.rect.height <= 256)
        );
        assert!(canvas.matches(&fb), "{lossless:?}");

        // A small edit: one tile, cut down to the changed pixels.
        fb.fill(Rect::new(546, 172, 30, 14), [200, 10, 10]);
        let frame = pump(&mut encoder, &fb, &mut canvas).expect("edit");
        assert_eq!(frame.ops.len(), 1);
        assert_eq!(
            frame.tiles().next().map(|t| t.rect),
            Some(Rect::new(546, 172, 30, 14))
        );
        assert!(canvas.matches(&fb), "{lossless:?}");
    }

    // BGRX input is converted.
    let mut bgr = Framebuffer::new(3, 1, PixelFormat::Bgrx32).expect("fb");
    bgr.write_rect(
        Rect::new(0, 0, 3, 1),
        &[1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0],
        12,
    )
    .expect("write");
    assert_eq!(bgr.pixels(), &[3, 2, 1, 255, 6, 5, 4, 255, 9, 8, 7, 255]);
}

/// The demo screen with the area under the title bar scrolled up by `shift` rows and the
/// revealed strip showing new content (here: list rows from further up the screen, as when a
/// list scrolls to entries not yet shown).
fn scrolled_demo(rgba: &[u8], top: u32, bottom: u32, shift: u32) -> Vec<u8> {
    let stride = 1280 * 4;
    let mut next = rgba.to_vec();
    for y in top..bottom - shift {
        let from = (y + shift) as usize * stride;
        let to = y as usize * stride;
        next.copy_within(from..from + stride, to);
    }
    for (i, y) in (bottom - shift..bottom).enumerate() {
        let from = (140 + i) * stride;
        let to = y as usize * stride;
        next[to..to + stride].copy_from_slice(&rgba[from..from + stride]);
    }
    next
}

/// Keyframe of the demo screen, then the scrolled screen; returns the second frame.
fn scroll_frame(config: EncoderConfig, next: &[u8]) -> Frame {
    let (mut fb, _) = demo_framebuffer();
    let mut encoder = Encoder::new(config);
    let mut canvas = Canvas::new();
    pump(&mut encoder, &fb, &mut canvas).expect("keyframe");
    fb.write_rect(Rect::new(0, 0, 1280, 800), next, 1280 * 4)
        .expect("scrolled");
    let frame = pump(&mut encoder, &fb, &mut canvas).expect("scroll frame");
    assert!(canvas.matches(&fb), "client shows the scrolled screen");
    frame
}

#[test]
fn scroll_becomes_copy_rect_plus_small_strip() {
    let (_, _, rgba) = demo_screen();
    let (top, bottom, shift) = (48u32, 768u32, 40u32);
    let next = scrolled_demo(&rgba, top, bottom, shift);

    let frame = scroll_frame(EncoderConfig::default(), &next);
    let copy = frame.ops.iter().find_map(|op| match op {
        TileOp::CopyRect { src, dst } => Some((*src, *dst)),
        TileOp::Tile(_) => None,
    });
    let (src, dst) = copy.expect("a CopyRect");
    assert_eq!(src.y, dst.y + shift, "shift detected");
    assert!(src.height >= 600, "most of the area is copied: {src:?}");
    let strip = Rect::new(0, bottom - shift, 1280, shift);
    for tile in frame.tiles() {
        assert!(
            strip.contains_rect(&tile.rect),
            "tile outside the strip: {:?}",
            tile.rect
        );
    }

    let sent = frame.payload_len();
    let without = scroll_frame(
        EncoderConfig {
            detect_scroll: false,
            ..EncoderConfig::default()
        },
        &next,
    )
    .payload_len();
    let stride = 1280 * 4;
    let area = &next[top as usize * stride..bottom as usize * stride];
    let one_image = encode_webp(area, 1280, bottom - top).expect("encode").len();
    eprintln!(
        "scroll frame {sent} B; without detection {without} B; area as one image {one_image} B"
    );
    assert!(
        sent * 5 < without && sent * 3 < one_image,
        "scroll costs {sent} bytes; re-encoding the area {without} as tiles, {one_image} as one image"
    );
}

/// A host that repaints a scroll in pieces (xrdp: bitmaps top to bottom) is often caught
/// part-way: the top band already shows the second step, the rest still the first. Each
/// band becomes its own CopyRect instead of one copy plus the other band as tiles.
#[test]
fn a_scroll_caught_half_way_becomes_one_copy_per_band() {
    let (_, _, rgba) = demo_screen();
    let (top, bottom, shift, mid) = (48u32, 768u32, 40u32, 400u32);
    let one_step = scrolled_demo(&rgba, top, bottom, shift);
    let two_steps = scrolled_demo(&one_step, top, bottom, shift);
    let stride = 1280 * 4;
    let mut caught = one_step.clone();
    caught[top as usize * stride..mid as usize * stride]
        .copy_from_slice(&two_steps[top as usize * stride..mid as usize * stride]);

    let frame = scroll_frame(EncoderConfig::default(), &caught);
    let copies = frame
        .ops
        .iter()
        .filter(|op| matches!(op, TileOp::CopyRect { .. }))
        .count();
    let sent = frame.payload_len();
    let with_one_copy = scroll_frame(EncoderConfig::default(), &one_step).payload_len();
    let without = scroll_frame(
        EncoderConfig {
            detect_scroll: false,
            ..EncoderConfig::default()
        },
        &caught,
    )
    .payload_len();
    eprintln!(
        "half-way scroll: {copies} copies, {sent} B; a clean step {with_one_copy} B; without detection {without} B"
    );
    assert!(copies >= 2, "one CopyRect per band, got {copies}");
    assert!(sent * 5 < without, "{sent} B against {without} B as tiles");
}

#[test]
fn host_blit_becomes_copy_rect() {
    let (mut fb, _) = demo_framebuffer();
    let mut encoder = Encoder::new(lossless());
    let mut canvas = Canvas::new();
    pump(&mut encoder, &fb, &mut canvas).expect("keyframe");
    fb.copy_within(Rect::new(17, 140, 358, 600), Point { x: 17, y: 108 });
    let frame = pump(&mut encoder, &fb, &mut canvas).expect("frame");
    assert_eq!(
        frame.ops.first(),
        Some(&TileOp::CopyRect {
            src: Rect::new(17, 140, 358, 600),
            dst: Point { x: 17, y: 108 },
        })
    );
    assert_eq!(frame.payload_len(), 0, "nothing left to send");
    assert!(canvas.matches(&fb));

    // A blit hanging off the screen is clipped on both sides.
    fb.copy_within(Rect::new(1200, 700, 500, 500), Point { x: 1000, y: 10 });
    fb.copy_within(Rect::new(5000, 5000, 10, 10), Point { x: 0, y: 0 });
    fb.copy_within(
        Rect::new(0, 0, 100, 100),
        Point {
            x: 1279,
            y: u32::MAX,
        },
    );
    pump(&mut encoder, &fb, &mut canvas).expect("frame");
    assert!(canvas.matches(&fb));
}

#[test]
fn jpeg_only_for_high_churn_many_colour_regions() {
    let (mut fb, _) = demo_framebuffer();
    let config = EncoderConfig::default();
    let refine_after = config.refine_after;
    let mut encoder = Encoder::new(config);
    let mut canvas = Canvas::new();
    pump(&mut encoder, &fb, &mut canvas).expect("keyframe");

    let video = Rect::new(640, 448, 256, 192);
    let mut saw_jpeg = false;
    for tick in 0..12u64 {
        fb.write_rect(
            video,
            &noise(video.area() as usize, tick + 1),
            video.width as usize * 4,
        )
        .expect("noise");
        // A text edit now and then next to the video stays lossless.
        if tick % 4 == 1 {
            fb.fill(Rect::new(546 + tick as u32, 220, 6, 14), [20, 20, 20]);
        }
        let frame = pump(&mut encoder, &fb, &mut canvas).expect("frame");
        for tile in frame.tiles() {
            if let Encoding::Jpeg { .. } = tile.encoding {
                saw_jpeg = true;
                assert!(
                    video.contains_rect(&tile.rect),
                    "JPEG outside the busy area: {:?}",
                    tile.rect
                );
            }
        }
        if tick < 3 {
            assert!(
                frame
                    .tiles()
                    .all(|t| !matches!(t.encoding, Encoding::Jpeg { .. })),
                "not hot yet"
            );
        }
    }
    assert!(saw_jpeg, "the busy area went lossy");

    // A busy area with few colours (a blinking caret, a spinner) stays lossless.
    let caret = Rect::new(100, 600, 64, 64);
    for tick in 0..10 {
        fb.fill(
            caret,
            if tick % 2 == 0 {
                [0, 0, 0]
            } else {
                [255, 255, 255]
            },
        );
        let frame = pump(&mut encoder, &fb, &mut canvas);
        for tile in frame.iter().flat_map(|f| f.tiles()) {
            if caret.contains_rect(&tile.rect) {
                assert!(!matches!(tile.encoding, Encoding::Jpeg { .. }));
            }
        }
    }

    // Once the video stops, its cells are resent losslessly and the browser is exact.
    for _ in 0..refine_after + 2 {
        pump(&mut encoder, &fb, &mut canvas);
    }
    assert!(canvas.matches(&fb), "lossy pixels were refined");
    assert_eq!(encoder.take_frame(&fb).expect("encode"), None);
}

#[test]
fn writes_while_a_frame_is_in_flight_merge_into_one_fresh_frame() {
    let (mut fb, _) = demo_framebuffer();
    let mut encoder = Encoder::new(lossless());
    let mut canvas = Canvas::new();
    let keyframe = encoder.take_frame(&fb).expect("encode").expect("keyframe");

    for i in 0..200u32 {
        fb.fill(Rect::new(600, 500, 100, 30), [i as u8, 0, 0]);
        fb.fill(Rect::new(10 + i, 780, 5, 5), [0, i as u8, 0]);
        assert_eq!(
            encoder.take_frame(&fb).expect("encode"),
            None,
            "one in flight"
        );
    }
    assert!(!encoder.ack(keyframe.id + 1), "unknown id");
    canvas.apply(&keyframe);
    assert!(encoder.ack(keyframe.id));

    let frame = pump(&mut encoder, &fb, &mut canvas).expect("merged frame");
    assert!(!frame.keyframe);
    assert!(
        frame.tiles().count() <= 4,
        "merged: {} tiles",
        frame.tiles().count()
    );
    assert!(canvas.matches(&fb), "the freshest pixels arrived");
    assert_eq!(encoder.take_frame(&fb).expect("encode"), None);

    // Resume: a new connection gets a keyframe even with a frame in flight.
    fb.fill(Rect::new(0, 0, 10, 10), [9, 9, 9]);
    let lost = encoder.take_frame(&fb).expect("encode").expect("frame");
    encoder.request_keyframe();
    let mut fresh = Canvas::new();
    let resumed = pump(&mut encoder, &fb, &mut fresh).expect("keyframe");
    assert!(resumed.keyframe && resumed.id > lost.id);
    assert!(fresh.matches(&fb));
}

#[test]
fn resize_sends_a_keyframe_of_the_new_size() {
    let (mut fb, _) = demo_framebuffer();
    let mut encoder = Encoder::new(lossless());
    let mut canvas = Canvas::new();
    pump(&mut encoder, &fb, &mut canvas).expect("keyframe");
    fb.resize(1024, 768).expect("resize");
    fb.fill(Rect::new(0, 0, 1024, 40), [30, 80, 120]);
    let frame = pump(&mut encoder, &fb, &mut canvas).expect("frame");
    assert!(frame.keyframe && (frame.width, frame.height) == (1024, 768));
    assert!(canvas.matches(&fb));
    assert!(fb.resize(0, 10).is_err());
    assert!(fb.resize(100_000, 10).is_err());
}

#[test]
fn rectangles_out_of_bounds_are_clipped() {
    let mut fb = Framebuffer::new(100, 80, PixelFormat::Rgba32).expect("fb");
    let g = fb.generation();
    let red = [255, 0, 0, 255].repeat(50 * 50);
    // Half off the right edge: only the visible 20 columns are written.
    fb.write_rect(Rect::new(80, 10, 50, 50), &red, 200)
        .expect("write");
    assert_eq!(
        &fb.pixels()[(10 * 100 + 99) * 4..(10 * 100 + 100) * 4],
        &[255, 0, 0, 255]
    );
    assert_eq!(
        &fb.pixels()[(10 * 100 + 79) * 4..(10 * 100 + 80) * 4],
        &[0, 0, 0, 255]
    );
    let g2 = fb.generation();
    assert!(g2 > g);
    // Entirely outside, or at coordinates that would overflow: nothing happens.
    fb.write_rect(Rect::new(u32::MAX - 10, 5, 50, 50), &red, 200)
        .expect("write");
    fb.fill(Rect::new(5, u32::MAX, u32::MAX, u32::MAX), [1, 1, 1]);
    assert_eq!(fb.generation(), g2);
    // Too few bytes or a short stride is an error, not a panic.
    assert!(
        fb.write_rect(Rect::new(0, 0, 50, 50), &red[..100], 200)
            .is_err()
    );
    assert!(fb.write_rect(Rect::new(0, 0, 50, 50), &red, 100).is_err());
    assert!(
        fb.write_rect(Rect::new(0, 0, 2, u32::MAX), &red, usize::MAX)
            .is_err()
    );
    let cells: Vec<_> = fb.damage_since(g).cells().collect();
    assert_eq!(cells, vec![(80 / CELL, 0)]);
}

#[derive(Debug, Clone)]
enum Op {
    Write(Rect, u64),
    Fill(Rect, [u8; 3]),
    Copy(Rect, Point),
    Resize(u32, u32),
    Frame,
}

fn any_coord() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..200, Just(u32::MAX), (u32::MAX - 64)..=u32::MAX]
}

fn any_rect() -> impl Strategy<Value = Rect> {
    (any_coord(), any_coord(), 0u32..300, 0u32..300).prop_map(|(x, y, w, h)| Rect::new(x, y, w, h))
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any_rect().prop_filter("bounded", |r| r.area() <= 300 * 300), any::<u64>())
            .prop_map(|(r, seed)| Op::Write(r, seed)),
        2 => (any_rect(), any::<[u8; 3]>()).prop_map(|(r, c)| Op::Fill(r, c)),
        3 => (any_rect(), any_coord(), any_coord()).prop_map(|(r, x, y)| Op::Copy(r, Point { x, y })),
        1 => (1u32..300, 1u32..200).prop_map(|(w, h)| Op::Resize(w, h)),
        3 => Just(Op::Frame),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the host sends, nothing panics and after each frame the browser shows
    /// exactly the framebuffer — encoding, as the session does, from a replica synced
    /// from the live framebuffer, which must equal it in pixels, generations and copies.
    #[test]
    fn random_operations_never_panic_and_frames_reproduce_the_screen(
        ops in proptest::collection::vec(any_op(), 1..40)
    ) {
        let mut fb = Framebuffer::new(200, 150, PixelFormat::Bgrx32).expect("fb");
        let mut replica = Framebuffer::new(8, 8, PixelFormat::Rgba32).expect("replica");
        let mut synced_at = 0;
        let mut encoder = Encoder::new(lossless());
        let mut canvas = Canvas::new();
        for op in ops {
            match op {
                Op::Write(rect, seed) => {
                    let pixels = noise(rect.area() as usize, seed);
                    fb.write_rect(rect, &pixels, rect.width as usize * 4).expect("sized buffer");
                }
                Op::Fill(rect, rgb) => fb.fill(rect, rgb),
                Op::Copy(src, dst) => fb.copy_within(src, dst),
                Op::Resize(w, h) => fb.resize(w, h).expect("valid size"),
                Op::Frame => {
                    replica.sync_from(&fb);
                    prop_assert_eq!(replica.pixels(), fb.pixels());
                    prop_assert_eq!(replica.generation(), fb.generation());
                    for since in [0, synced_at] {
                        prop_assert_eq!(replica.damage_since(since), fb.damage_since(since));
                        prop_assert!(replica.copies_since(since).eq(fb.copies_since(since)));
                    }
                    synced_at = fb.generation();
                    pump(&mut encoder, &replica, &mut canvas);
                    prop_assert!(canvas.matches(&fb));
                }
            }
        }
        replica.sync_from(&fb);
        pump(&mut encoder, &replica, &mut canvas);
        prop_assert!(canvas.matches(&fb));
    }
}

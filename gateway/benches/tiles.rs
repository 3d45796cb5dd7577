//! Tile encoding benchmark: which lossless and lossy encoders the display uses, chosen by
//! measurement on realistic content. Prints bytes and encode time per megapixel for each
//! candidate, with ratios against a raw RGBA frame and a memcpy of the frame measured in the
//! same run, then end-to-end encoder numbers for a scroll sequence, typing and an animation.
//!
//! Run: `cargo bench -p hamn-gateway --bench tiles` (release). Content: the demo app
//! screenshot (text and UI), a synthetic photo (gradients with grain), and noise.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hamn_gateway::display::{
    Encoder, EncoderConfig, Encoding, Framebuffer, Lossless, PixelFormat, PngLevel, Rect, TileOp,
    encode_jpeg, encode_png_with, encode_webp,
};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/display/demo-app.png"
);
const TILE: u32 = 256;
const RUNS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (w, h, ui) = demo_screen()?;
    let photo = synthetic_photo(w, h);
    let mp = f64::from(w * h) / 1e6;
    let raw = (w * h * 4) as f64;

    // Baseline: copying the frame once, measured now, on this machine.
    let memcpy = best_of(|| {
        let copy = black_box(&ui).clone();
        black_box(copy);
    });
    let memcpy_ms = ms(memcpy) / mp;
    println!("frame {w}x{h}, raw RGBA {raw} bytes, memcpy {memcpy_ms:.3} ms/MP (baseline)");
    println!("whole frame cut into {TILE}x{TILE} tiles, best of {RUNS} runs\n");
    println!(
        "{:<10} {:<24} {:>10} {:>9} {:>9} {:>10}",
        "content", "encoder", "bytes", "x raw", "ms/MP", "x memcpy"
    );

    type Enc = fn(&[u8], u32, u32) -> Vec<u8>;
    let candidates: [(&str, Enc); 9] = [
        ("png fastest rgb", |p, w, h| {
            png(p, w, h, PngLevel::Fastest, false)
        }),
        ("png fast rgb", |p, w, h| {
            png(p, w, h, PngLevel::Fast, false)
        }),
        ("png fast indexed", |p, w, h| {
            png(p, w, h, PngLevel::Fast, true)
        }),
        ("png balanced indexed", |p, w, h| {
            png(p, w, h, PngLevel::Balanced, true)
        }),
        ("png balanced rgb", |p, w, h| {
            png(p, w, h, PngLevel::Balanced, false)
        }),
        ("webp lossless", |p, w, h| {
            encode_webp(p, w, h).unwrap_or_default()
        }),
        ("jpeg q60", |p, w, h| jpeg(p, w, h, 60)),
        ("jpeg q70", |p, w, h| jpeg(p, w, h, 70)),
        ("jpeg q85", |p, w, h| jpeg(p, w, h, 85)),
    ];
    for (content, pixels) in [("ui", &ui), ("photo", &photo)] {
        let tiles = cut(pixels, w, h);
        for (name, encode) in candidates {
            let mut bytes = 0;
            let time = best_of(|| {
                bytes = tiles
                    .iter()
                    .map(|(r, p)| encode(p, r.width, r.height).len())
                    .sum();
            });
            println!(
                "{content:<10} {name:<24} {bytes:>10} {:>9.4} {:>9.2} {:>10.1}",
                bytes as f64 / raw,
                ms(time) / mp,
                ms(time) / mp / memcpy_ms
            );
        }
    }

    println!("\nend to end: Encoder::take_frame on the demo screen (default config unless noted)");
    println!(
        "{:<34} {:>7} {:>12} {:>10} {:>9}",
        "workload", "frames", "bytes/frame", "ms/frame", "jpeg tiles"
    );
    scenario("keyframe", EncoderConfig::default(), &ui, w, h, |_, _| {})?;
    scroll_scenarios(&ui, w, h)?;
    scenario(
        "typing (1 glyph per frame)",
        EncoderConfig::default(),
        &ui,
        w,
        h,
        |fb, i| {
            fb.fill(Rect::new(546 + i * 8, 220, 7, 14), [30, 30, 30]);
        },
    )?;
    scenario(
        "clock + caret, far apart",
        EncoderConfig::default(),
        &ui,
        w,
        h,
        |fb, i| {
            fb.fill(Rect::new(1180, 16, 8 + i % 3, 14), [255, 255, 255]);
            let on = if i % 2 == 0 {
                [0, 0, 0]
            } else {
                [255, 255, 255]
            };
            fb.fill(Rect::new(548, 267, 1, 16), on);
        },
    )?;
    scenario(
        "animation 320x240 (photo)",
        EncoderConfig::default(),
        &ui,
        w,
        h,
        |fb, i| {
            animate(fb, &photo, w, i);
        },
    )?;
    let png = EncoderConfig {
        lossless: Lossless::Png(PngLevel::Fast),
        ..EncoderConfig::default()
    };
    scenario("keyframe, png fast", png.clone(), &ui, w, h, |_, _| {})?;
    scenario("typing, png fast", png, &ui, w, h, |fb, i| {
        fb.fill(Rect::new(546 + i * 8, 220, 7, 14), [30, 30, 30]);
    })?;
    let lossless = EncoderConfig {
        lossy: false,
        ..EncoderConfig::default()
    };
    scenario(
        "animation 320x240, lossless only",
        lossless,
        &ui,
        w,
        h,
        |fb, i| {
            animate(fb, &photo, w, i);
        },
    )?;
    Ok(())
}

fn scroll_scenarios(ui: &[u8], w: u32, h: u32) -> Result<(), Box<dyn std::error::Error>> {
    // The whole area under the title bar scrolls by 20 rows per frame; revealed rows come
    // from further down a long document (the screen itself, wrapped).
    let scroll = |fb: &mut Framebuffer, i: u32| {
        let (top, bottom) = (48u32, 768u32);
        let stride = w as usize * 4;
        let height = bottom - top;
        let mut area = Vec::with_capacity(height as usize * stride);
        for y in 0..height {
            let source = top + (y + (i + 1) * 20) % height;
            let start = source as usize * stride;
            area.extend_from_slice(&ui[start..start + stride]);
        }
        let _ = fb.write_rect(Rect::new(0, top, w, height), &area, stride);
    };
    scenario(
        "scroll 20 rows/frame, detection on",
        EncoderConfig::default(),
        ui,
        w,
        h,
        scroll,
    )?;
    let off = EncoderConfig {
        detect_scroll: false,
        ..EncoderConfig::default()
    };
    scenario("scroll 20 rows/frame, detection off", off, ui, w, h, scroll)
}

/// Runs 10 frames of `step` after a keyframe and prints the average frame.
fn scenario(
    name: &str,
    config: EncoderConfig,
    ui: &[u8],
    w: u32,
    h: u32,
    step: impl Fn(&mut Framebuffer, u32),
) -> Result<(), Box<dyn std::error::Error>> {
    let mut fb = Framebuffer::new(w, h, PixelFormat::Rgba32)?;
    fb.write_rect(Rect::new(0, 0, w, h), ui, w as usize * 4)?;
    let mut encoder = Encoder::new(config);
    let start = Instant::now();
    let key = encoder.take_frame(&fb)?.ok_or("no keyframe")?;
    let key_time = start.elapsed();
    encoder.ack(key.id);
    if name.starts_with("keyframe") {
        let jpeg = key
            .tiles()
            .filter(|t| matches!(t.encoding, Encoding::Jpeg { .. }))
            .count();
        println!(
            "{name:<34} {:>7} {:>12} {:>10.2} {jpeg:>9}",
            1,
            key.payload_len(),
            ms(key_time)
        );
        return Ok(());
    }
    let (mut frames, mut bytes, mut time, mut jpeg, mut copies) = (0, 0, Duration::ZERO, 0, 0);
    for i in 0..10 {
        step(&mut fb, i);
        let start = Instant::now();
        let frame = encoder.take_frame(&fb)?;
        time += start.elapsed();
        if let Some(frame) = frame {
            frames += 1;
            bytes += frame.payload_len();
            jpeg += frame
                .tiles()
                .filter(|t| matches!(t.encoding, Encoding::Jpeg { .. }))
                .count();
            copies += frame
                .ops
                .iter()
                .filter(|op| matches!(op, TileOp::CopyRect { .. }))
                .count();
            encoder.ack(frame.id);
        }
    }
    let per = |x: f64| x / f64::from(frames.max(1));
    let note = if copies > 0 {
        format!("  ({copies} CopyRect)")
    } else {
        String::new()
    };
    println!(
        "{name:<34} {frames:>7} {:>12.0} {:>10.2} {jpeg:>9}{note}",
        per(bytes as f64),
        per(ms(time))
    );
    Ok(())
}

fn animate(fb: &mut Framebuffer, photo: &[u8], w: u32, i: u32) {
    // A 320x240 window onto the photo that pans every frame, drawn at (800, 450).
    let stride = w as usize * 4;
    let offset = (i as usize * 12) * 4 + (i as usize * 5) * stride;
    if let Some(src) = photo.get(offset..) {
        let _ = fb.write_rect(Rect::new(800, 450, 320, 240), src, stride);
    }
}

fn png(p: &[u8], w: u32, h: u32, level: PngLevel, indexed: bool) -> Vec<u8> {
    encode_png_with(p, w, h, level, indexed).unwrap_or_default()
}

fn jpeg(p: &[u8], w: u32, h: u32, quality: u8) -> Vec<u8> {
    encode_jpeg(p, w, h, quality).unwrap_or_default()
}

/// The frame as `TILE`-sized tiles of packed RGBA, like a keyframe.
fn cut(pixels: &[u8], w: u32, h: u32) -> Vec<(Rect, Vec<u8>)> {
    let mut tiles = Vec::new();
    for y in (0..h).step_by(TILE as usize) {
        for x in (0..w).step_by(TILE as usize) {
            let r = Rect::new(x, y, TILE.min(w - x), TILE.min(h - y));
            let mut p = Vec::with_capacity(r.area() as usize * 4);
            for row in r.y..r.bottom() {
                let start = (row * w + r.x) as usize * 4;
                p.extend_from_slice(&pixels[start..start + r.width as usize * 4]);
            }
            tiles.push((r, p));
        }
    }
    tiles
}

fn best_of(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Smooth gradients, a few soft shapes and sensor-like grain: many colours, no flat areas.
fn synthetic_photo(w: u32, h: u32) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let grain = (state % 9) as f32 - 4.0;
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let blob = ((fx * 9.0).sin() * (fy * 7.0).cos() * 40.0) + grain;
            let r = 90.0 + 120.0 * fx + blob;
            let g = 60.0 + 100.0 * fy + blob * 0.8;
            let b = 140.0 + 60.0 * (fx * fy * 6.0).sin() + blob * 0.5;
            out.extend_from_slice(&[r as u8, g as u8, b as u8, 255]);
        }
    }
    out
}

fn demo_screen() -> Result<(u32, u32, Vec<u8>), Box<dyn std::error::Error>> {
    let file = std::fs::File::open(FIXTURE)?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("image too large")?];
    let info = reader.next_frame(&mut buf)?;
    let data = buf.get(..info.buffer_size()).ok_or("short frame")?;
    let rgba = match info.color_type {
        png::ColorType::Rgb => data
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::Rgba => data.to_vec(),
        other => return Err(format!("unexpected colour type {other:?}").into()),
    };
    Ok((info.width, info.height, rgba))
}

//! QR codes of Key URIs (ISO/IEC 18004) as SVG, PNG and terminal text, for enrollment.

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the symbol (ISO/IEC 18004 §6.3.8: a quiet zone of 4 modules).
const QUIET_ZONE: usize = 4;
/// Pixels per module in PNG output.
const PNG_SCALE: usize = 8;

/// Why a QR code could not be produced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The data does not fit in any QR version at error-correction level M.
    #[error("data of {0} bytes does not fit in a QR code (ISO/IEC 18004 version 40, level M)")]
    TooLong(usize),
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// The module matrix with its quiet zone: `dark[y][x]`.
struct Modules {
    size: usize,
    dark: Vec<bool>,
}

impl Modules {
    fn of(data: &str) -> Result<Modules, QrError> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
            .map_err(|_| QrError::TooLong(data.len()))?;
        let width = code.width();
        let size = width + 2 * QUIET_ZONE;
        let mut dark = vec![false; size * size];
        for (i, color) in code.to_colors().into_iter().enumerate() {
            let (x, y) = (i % width, i / width);
            dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = color == Color::Dark;
        }
        Ok(Modules { size, dark })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }
}

/// An SVG image of the QR code of `data` (a Key URI to enroll, RFC 6238 §5.1 key provisioning) (error correction M, 4-module quiet zone), black on white.
pub fn svg(data: &str) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TooLong(data.len()))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(8, 8)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// A PNG image of the QR code of `data` (a Key URI, RFC 6238 §5.1 key provisioning): 8-bit grayscale, black on white, 8 pixels per module,
/// 4-module quiet zone (ISO/IEC 18004 §6.3.8).
pub fn png(data: &str) -> Result<Vec<u8>, QrError> {
    let modules = Modules::of(data)?;
    let side = modules.size * PNG_SCALE;
    let mut pixels = Vec::with_capacity(side * side);
    for y in 0..side {
        for x in 0..side {
            let dark = modules.is_dark(x / PNG_SCALE, y / PNG_SCALE);
            pixels.push(if dark { 0x00 } else { 0xff });
        }
    }
    let side = u32::try_from(side).map_err(|e| QrError::Png(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let png_error = |e: png::EncodingError| QrError::Png(e.to_string());
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

/// The QR code of `data` (a Key URI, RFC 6238 §5.1 key provisioning) as text for a dark-background terminal: Unicode half blocks (`▀ ▄ █`)
/// and spaces, two module rows per line, light modules and the 4-module quiet zone drawn in the
/// (light) foreground colour so that dark modules show as the dark background.
pub fn terminal(data: &str) -> Result<String, QrError> {
    render_text(&Modules::of(data)?, false)
}

/// The QR code of `data` (RFC 6238 §5.1 key provisioning) for a light-background terminal: the same half blocks, with dark
/// modules drawn in the (dark) foreground colour.
pub fn terminal_light_background(data: &str) -> Result<String, QrError> {
    render_text(&Modules::of(data)?, true)
}

fn render_text(modules: &Modules, ink_is_dark: bool) -> Result<String, QrError> {
    let inked = |x: usize, y: usize| y < modules.size && modules.is_dark(x, y) == ink_is_dark;
    let mut out = String::with_capacity((modules.size + 1) * modules.size.div_ceil(2) * 3);
    for y in (0..modules.size).step_by(2) {
        for x in 0..modules.size {
            out.push(match (inked(x, y), inked(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str =
        "otpauth://totp/ACME:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME";

    #[test]
    fn png_is_black_on_white_with_a_quiet_zone_and_eight_pixels_per_module() {
        let bytes = png(URI).unwrap();
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let modules = Modules::of(URI).unwrap();
        assert_eq!(info.width as usize, modules.size * PNG_SCALE);
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let side = info.width as usize;
        // Quiet zone: the first 4 module rows are white.
        assert!(
            buf[..side * QUIET_ZONE * PNG_SCALE]
                .iter()
                .all(|p| *p == 0xff)
        );
        // The top-left finder pattern starts with a dark module right after the quiet zone.
        let corner = QUIET_ZONE * PNG_SCALE;
        assert_eq!(buf[corner * side + corner], 0x00);
        for y in 0..modules.size {
            for x in 0..modules.size {
                let pixel = buf[(y * PNG_SCALE + 3) * side + x * PNG_SCALE + 3];
                assert_eq!(pixel == 0, modules.is_dark(x, y), "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn terminal_text_encodes_two_module_rows_per_line() {
        let modules = Modules::of(URI).unwrap();
        for ink_is_dark in [false, true] {
            let text = render_text(&modules, ink_is_dark).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), modules.size.div_ceil(2));
            for (row, line) in lines.iter().enumerate() {
                let chars: Vec<char> = line.chars().collect();
                assert_eq!(chars.len(), modules.size);
                for (x, ch) in chars.iter().enumerate() {
                    let (top, bottom) = match ch {
                        '█' => (true, true),
                        '▀' => (true, false),
                        '▄' => (false, true),
                        ' ' => (false, false),
                        other => panic!("unexpected {other:?}"),
                    };
                    let y = row * 2;
                    assert_eq!(top, modules.is_dark(x, y) == ink_is_dark);
                    if y + 1 < modules.size {
                        assert_eq!(bottom, modules.is_dark(x, y + 1) == ink_is_dark);
                    }
                }
            }
        }
        assert!(terminal(URI).unwrap().starts_with('█'));
        assert!(terminal_light_background(URI).unwrap().starts_with(' '));
    }

    #[test]
    fn svg_is_a_black_on_white_svg_document() {
        let image = svg(URI).unwrap();
        assert!(image.contains("<svg"));
        assert!(image.contains("#000000") && image.contains("#ffffff"));
    }

    #[test]
    fn data_too_long_for_a_qr_code_is_an_error() {
        let huge = "A".repeat(5000);
        assert_eq!(svg(&huge), Err(QrError::TooLong(5000)));
        assert_eq!(png(&huge), Err(QrError::TooLong(5000)));
        assert_eq!(terminal(&huge), Err(QrError::TooLong(5000)));
    }
}

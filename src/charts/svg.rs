//! What every chart shares: the document frame, text escaping and number formatting.

use std::fmt::Write as _;

/// System fonts only: the charts never fetch a font.
pub const FONT_FAMILY: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

pub const TEXT_COLOUR: &str = "#1f2328";
pub const GRID_COLOUR: &str = "#d0d7de";
pub const MUTED_COLOUR: &str = "#57606a";

/// Escapes text for XML character data and attribute values, and drops the characters XML 1.0
/// cannot carry at all (control characters other than tab, newline and carriage return), so
/// no input can make the document malformed.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' | '\n' | '\r' => escaped.push(character),
            control if control.is_control() => {}
            other => escaped.push(other),
        }
    }
    escaped
}

/// A score as the charts print it: one decimal, clamped to 0-100 (non-finite reads as 0).
pub fn clamp_score(score: f64) -> f64 {
    if score.is_finite() { score.clamp(0.0, 100.0) } else { 0.0 }
}

/// Opens an SVG document. `id` prefixes the ids of its title and description, so several charts
/// can be inlined in one page without their ids clashing.
pub fn open(id: &str, width: u32, height: u32, title: &str, description: &str) -> String {
    let mut svg = String::with_capacity(8 * 1024);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{font}" font-size="13" fill="{TEXT_COLOUR}"><title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc><rect width="{width}" height="{height}" fill="white"/>"#,
        id = escape(id),
        font = escape(FONT_FAMILY),
        title = escape(title),
        description = escape(description),
    );
    svg
}

/// Closes a document [`open`] started.
pub fn close(mut svg: String) -> String {
    svg.push_str("</svg>");
    svg
}

//! Message text for Discord: plain text escaped for Discord's markdown, split at the
//! 2000-character `content` limit.

use hypernet_plugin_api::channel::split_text;

/// Discord's limit on a message's `content`, in characters.
pub(crate) const CONTENT_LIMIT: usize = 2000;

/// Escapes what Discord's markdown would interpret (emphasis, code, spoilers, quotes,
/// headings, masked links, mentions), so plain text shows as written. Links are left as
/// they are so they stay clickable.
///
/// `a*b` becomes `a\*b`; `# x` at a line start becomes `\# x`.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let line_start = out.len();
        for (word_index, word) in line.split(' ').enumerate() {
            if word_index > 0 {
                out.push(' ');
            }
            if word.starts_with("http://") || word.starts_with("https://") {
                out.push_str(word);
                continue;
            }
            for c in word.chars() {
                let at_line_start = out.len() == line_start;
                if matches!(
                    c,
                    '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '[' | '<' | '@'
                ) || (at_line_start && matches!(c, '#' | '-'))
                {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    out
}

/// The contents of the requests for one message: `head` (already in Discord markup, e.g.
/// a mention) opens the first; `text` is plain, escaped, and split so no piece passes
/// [`CONTENT_LIMIT`]; no text, no parts. Escaping may lengthen a piece, so a piece that grows past the limit
/// is split again from its plain text.
pub(crate) fn parts(head: &str, text: &str) -> Vec<String> {
    let budget = CONTENT_LIMIT - head.chars().count();
    let mut pieces = Vec::new();
    escaped_pieces(text, budget, &mut pieces);
    if let Some(first) = pieces.first_mut() {
        first.insert_str(0, head);
    }
    pieces
}

fn escaped_pieces(text: &str, budget: usize, out: &mut Vec<String>) {
    for piece in split_text(text, budget) {
        let escaped = escape(&piece);
        if escaped.chars().count() <= budget {
            out.push(escaped);
        } else {
            // Escaping at most doubles a piece, so pieces of half the budget fit.
            out.extend(split_text(&piece, budget / 2).iter().map(|p| escape(p)));
        }
    }
}

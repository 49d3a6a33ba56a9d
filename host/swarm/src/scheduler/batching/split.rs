//! Splitting a batched call's answer back into one answer per task. The format is strict:
//! every task's answer in one `<answer task="ID">…</answer>` block, each id exactly once,
//! no unknown id, no block inside another, nothing but whitespace outside the blocks, and
//! no empty answer. Anything else is refused, and the tasks go back to single calls.

use std::collections::HashMap;

const OPEN: &str = "<answer task=\"";
const CLOSE: &str = "</answer>";

/// Why an answer could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// No block for this task.
    #[error("no answer for {0}")]
    Missing(String),
    /// Two blocks for this task.
    #[error("two answers for {0}")]
    Duplicate(String),
    /// A block for a task that was not asked.
    #[error("an answer for {0}, which was not asked")]
    Unknown(String),
    /// The block for this task is empty.
    #[error("an empty answer for {0}")]
    Empty(String),
    /// A block is not closed, or another opens inside it.
    #[error("the answer block for {0} is not closed before the next one")]
    Unclosed(String),
    /// The opening tag is not of the form `<answer task="ID">`.
    #[error("a malformed answer tag at character {0}")]
    Malformed(usize),
    /// Text outside the blocks.
    #[error("text outside the answer blocks: {0:?}")]
    Outside(String),
}

/// Each of `ids`' answer, in the order of `ids`, trimmed of surrounding whitespace.
pub fn split(text: &str, ids: &[&str]) -> Result<Vec<String>, SplitError> {
    let mut found: HashMap<&str, String> = HashMap::new();
    let mut rest = text;
    loop {
        let Some(open) = rest.find(OPEN) else {
            outside(rest)?;
            break;
        };
        outside(&rest[..open])?;
        let at = text.len() - rest.len() + open;
        let after = &rest[open + OPEN.len()..];
        let Some((id, body)) = after.split_once("\">") else {
            return Err(SplitError::Malformed(at));
        };
        if id.is_empty() || id.contains(['"', '<', '>', '\n']) {
            return Err(SplitError::Malformed(at));
        }
        let Some(end) = body.find(CLOSE) else {
            return Err(SplitError::Unclosed(id.to_owned()));
        };
        let answer = &body[..end];
        if answer.contains(OPEN) || answer.contains("<answer") {
            return Err(SplitError::Unclosed(id.to_owned()));
        }
        if !ids.contains(&id) {
            return Err(SplitError::Unknown(id.to_owned()));
        }
        let answer = answer.trim();
        if answer.is_empty() {
            return Err(SplitError::Empty(id.to_owned()));
        }
        if found.insert(id, answer.to_owned()).is_some() {
            return Err(SplitError::Duplicate(id.to_owned()));
        }
        rest = &body[end + CLOSE.len()..];
    }
    ids.iter()
        .map(|id| {
            found
                .remove(id)
                .ok_or_else(|| SplitError::Missing((*id).to_owned()))
        })
        .collect()
}

/// Refuses anything but whitespace between blocks.
fn outside(between: &str) -> Result<(), SplitError> {
    let between = between.trim();
    if between.is_empty() {
        return Ok(());
    }
    let excerpt: String = between.chars().take(60).collect();
    Err(SplitError::Outside(excerpt))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 3] = ["T-1", "T-2", "T-10"];

    fn block(id: &str, body: &str) -> String {
        format!("<answer task=\"{id}\">\n{body}\n</answer>\n")
    }

    #[test]
    fn blocks_in_any_order_give_each_task_its_trimmed_answer() {
        let text = format!(
            "\n  {}\n{}\t{}  \n",
            block("T-10", "  ten  "),
            block("T-1", "one\n\nwith a second paragraph"),
            block("T-2", "two < three, \"quoted\" and </task>")
        );
        assert_eq!(
            split(&text, &IDS).unwrap(),
            [
                "one\n\nwith a second paragraph",
                "two < three, \"quoted\" and </task>",
                "ten"
            ]
        );
        // On one line, no whitespace at all between the blocks.
        let tight = "<answer task=\"T-1\">a</answer><answer task=\"T-2\">b</answer><answer task=\"T-10\">c</answer>";
        assert_eq!(split(tight, &IDS).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn a_missing_duplicate_or_unknown_id_is_refused() {
        let two = block("T-1", "a") + &block("T-2", "b");
        assert_eq!(split(&two, &IDS), Err(SplitError::Missing("T-10".into())));
        let dup = two.clone() + &block("T-10", "c") + &block("T-2", "again");
        assert_eq!(split(&dup, &IDS), Err(SplitError::Duplicate("T-2".into())));
        let unknown = two + &block("T-10", "c") + &block("T-11", "d");
        assert_eq!(
            split(&unknown, &IDS),
            Err(SplitError::Unknown("T-11".into()))
        );
        // An id must match exactly: no prefix, no case change, no padding.
        let near = block("T-1", "a") + &block("t-2", "b") + &block("T-10", "c");
        assert_eq!(split(&near, &IDS), Err(SplitError::Unknown("t-2".into())));
        let padded = block("T-1", "a") + &block(" T-2", "b") + &block("T-10", "c");
        assert_eq!(
            split(&padded, &IDS),
            Err(SplitError::Unknown(" T-2".into()))
        );
    }

    #[test]
    fn text_outside_the_blocks_is_refused() {
        let all = block("T-1", "a") + &block("T-2", "b") + &block("T-10", "c");
        let before = format!("Here are the answers:\n{all}");
        assert!(
            matches!(split(&before, &IDS), Err(SplitError::Outside(t)) if t == "Here are the answers:")
        );
        let between = block("T-1", "a") + "and now\n" + &block("T-2", "b") + &block("T-10", "c");
        assert!(matches!(split(&between, &IDS), Err(SplitError::Outside(_))));
        let after = format!("{all}Done.");
        assert!(matches!(split(&after, &IDS), Err(SplitError::Outside(t)) if t == "Done."));
        // A plain answer, as a model that ignored the format would give.
        assert!(matches!(
            split("I wrote the docs.", &IDS),
            Err(SplitError::Outside(_))
        ));
        assert!(matches!(split("", &IDS), Err(SplitError::Missing(_))));
    }

    #[test]
    fn nested_unclosed_malformed_and_empty_blocks_are_refused() {
        let nested = format!(
            "<answer task=\"T-1\">a {}</answer>{}{}",
            block("T-2", "b"),
            block("T-10", "c"),
            ""
        );
        assert_eq!(
            split(&nested, &IDS),
            Err(SplitError::Unclosed("T-1".into()))
        );
        let unclosed = block("T-1", "a") + &block("T-2", "b") + "<answer task=\"T-10\">c";
        assert_eq!(
            split(&unclosed, &IDS),
            Err(SplitError::Unclosed("T-10".into()))
        );
        let open_inside = "<answer task=\"T-1\">a <answer> b</answer>";
        assert_eq!(
            split(open_inside, &IDS),
            Err(SplitError::Unclosed("T-1".into()))
        );
        assert_eq!(
            split("<answer task=\"T-1\" >a</answer>", &IDS),
            Err(SplitError::Malformed(0))
        );
        assert_eq!(
            split("<answer task=\"\">a</answer>", &IDS),
            Err(SplitError::Malformed(0))
        );
        assert_eq!(
            split("<answer task=\"T-1", &IDS),
            Err(SplitError::Malformed(0))
        );
        let empty = block("T-1", "a") + &block("T-2", " \n\t ") + &block("T-10", "c");
        assert_eq!(split(&empty, &IDS), Err(SplitError::Empty("T-2".into())));
        // A stray closing tag is text outside the blocks.
        let stray = block("T-1", "a") + "</answer>" + &block("T-2", "b") + &block("T-10", "c");
        assert!(matches!(split(&stray, &IDS), Err(SplitError::Outside(t)) if t == "</answer>"));
    }
}

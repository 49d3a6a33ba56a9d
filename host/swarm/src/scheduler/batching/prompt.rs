//! The user message of a batched call: the instructions, then each task in a block named by
//! its id. Each task's own block is measured, so its share of the call's input can be told
//! apart from the part every task shares (the system prompt and the instructions).

/// One task of a batched call.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The task's id as written in the prompt and expected in the answer (`T-12`).
    pub id: String,
    /// What a single call would send as the user message.
    pub text: String,
}

/// The user message of a batched call and how its characters divide.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPrompt {
    /// The whole message.
    pub text: String,
    /// Characters of each task's own block, in the order of the items.
    pub own_chars: Vec<usize>,
    /// Characters of the message that belong to no task (the instructions).
    pub shared_chars: usize,
}

/// The instructions before the tasks; `{n}` is replaced by the number of tasks.
const INSTRUCTIONS: &str = "Below are {n} separate tasks, each in a <task> block with its id. \
Complete every one of them. Write each answer in its own block, exactly in this form:\n\n\
<answer task=\"ID\">\nthe complete answer to that task\n</answer>\n\n\
Write one block per task, using each task's id exactly once, and nothing outside the blocks. \
Do not put one block inside another.\n\n";

/// The message asking for every item's answer in its own `<answer task="ID">` block.
pub fn build(items: &[Item]) -> BatchPrompt {
    let mut text = INSTRUCTIONS.replace("{n}", &items.len().to_string());
    let shared_chars = text.chars().count();
    let mut own_chars = Vec::with_capacity(items.len());
    for item in items {
        let block = format!("<task id=\"{}\">\n{}\n</task>\n\n", item.id, item.text);
        own_chars.push(block.chars().count());
        text.push_str(&block);
    }
    BatchPrompt {
        text,
        own_chars,
        shared_chars,
    }
}

/// The ids of the tasks a batched prompt lists, in order; empty when `text` is not a
/// batched prompt. (What a model reads from it; the simulated provider does the same.)
pub fn listed_ids(text: &str) -> Vec<&str> {
    if !text.starts_with("Below are ") {
        return Vec::new();
    }
    text.split("<task id=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once("\">").map(|(id, _)| id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Item> {
        vec![
            Item {
                id: "T-3".into(),
                text: "Fix the typo\n\nIn the README.".into(),
            },
            Item {
                id: "T-7".into(),
                text: "Résumé the changelog".into(),
            },
        ]
    }

    #[test]
    fn every_task_is_listed_with_its_id_and_the_parts_add_up() {
        let p = build(&items());
        assert!(
            p.text.starts_with("Below are 2 separate tasks"),
            "{}",
            p.text
        );
        assert!(p.text.contains("<answer task=\"ID\">"), "{}", p.text);
        assert!(
            p.text
                .contains("<task id=\"T-3\">\nFix the typo\n\nIn the README.\n</task>"),
            "{}",
            p.text
        );
        assert!(
            p.text
                .contains("<task id=\"T-7\">\nRésumé the changelog\n</task>")
        );
        // Characters, not bytes: the shares are counted like the prompt estimates.
        assert_eq!(
            p.shared_chars + p.own_chars.iter().sum::<usize>(),
            p.text.chars().count()
        );
        assert_eq!(
            p.own_chars[1],
            "<task id=\"T-7\">\nRésumé the changelog\n</task>\n\n"
                .chars()
                .count()
        );
        assert_eq!(listed_ids(&p.text), ["T-3", "T-7"]);
    }

    #[test]
    fn a_plain_prompt_lists_no_tasks() {
        assert!(listed_ids("Write <task id=\"T-1\"> docs").is_empty());
        assert!(listed_ids("").is_empty());
    }
}

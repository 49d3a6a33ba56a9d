//! Batched prompts: the host may send several tasks in one message, each in a
//! `<task id="ID">…</task>` block, asking for each answer in an `<answer task="ID">…</answer>`
//! block. The simulated model follows that instruction, so batching can be seen working on
//! the simulated provider as it would on a real model.

/// The tasks of a batched prompt: (id, the task's text), in order; `None` when the message
/// is not a batched prompt.
pub fn tasks(message: &str) -> Option<Vec<(&str, &str)>> {
    if !message.starts_with("Below are ") {
        return None;
    }
    let tasks: Vec<(&str, &str)> = message
        .split("<task id=\"")
        .skip(1)
        .filter_map(|rest| {
            let (id, body) = rest.split_once("\">\n")?;
            let (text, _) = body.split_once("\n</task>")?;
            Some((id, text))
        })
        .collect();
    (!tasks.is_empty()).then_some(tasks)
}

/// One answer block per task, in the format the prompt asks for; `answer` writes a task's
/// answer from its text.
pub fn answer(tasks: &[(&str, &str)], answer: impl Fn(&str) -> String) -> String {
    tasks
        .iter()
        .map(|(id, text)| format!("<answer task=\"{id}\">\n{}\n</answer>\n", answer(text)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batched_prompt_is_read_and_answered_block_by_block() {
        let prompt = "Below are 2 separate tasks, each in a <task> block with its id. ...\n\n\
            <answer task=\"ID\">\nthe complete answer to that task\n</answer>\n\n\
            <task id=\"T-4\">\nFix the typo\n\nIn the README.\n</task>\n\n\
            <task id=\"T-9\">\nAdd a line\n</task>\n\n";
        let tasks = tasks(prompt).unwrap();
        assert_eq!(
            tasks,
            [
                ("T-4", "Fix the typo\n\nIn the README."),
                ("T-9", "Add a line")
            ]
        );
        assert_eq!(
            answer(&tasks, |t| format!("done: {}", t.lines().next().unwrap())),
            "<answer task=\"T-4\">\ndone: Fix the typo\n</answer>\n<answer task=\"T-9\">\ndone: Add a line\n</answer>\n"
        );
        assert_eq!(super::tasks("Write the docs"), None);
        assert_eq!(super::tasks("Below are the notes."), None);
    }
}

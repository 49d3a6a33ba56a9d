//! The boot sequence of a new instance: before its first task, a worker whose profile has
//! no baseline answers holds one conversation on its own model. It reads the orientation
//! documents (the core documents, then its own) in pieces of bounded size, reflects on
//! them, answers the baseline questions (stored in its profile as `baselines`) and may
//! propose a name for itself (stored as `proposed_name`; the configured name stays its
//! identity). Messages accumulate, so every turn sees the whole conversation so far. Each
//! turn is reserved against and charged to the budget like any call (through the scheduler
//! thread, see [`super::startup`]); a refused reservation or a failed turn leaves the
//! profile without baselines, so the sequence runs again at the next start.
//!
//! The conversation itself ([`converse`]) is generic over the function that runs one turn,
//! so it is tested without a provider; [`boot_worker`] runs it through the scheduler's
//! call path.

use super::Instance;
use super::archive::Document;
use super::profile::{Baseline, Profile};
use super::startup::{Ledger, Request};
use crate::scheduler::call::{self, ProviderMap};
use hypernet_llm::CallError;
use hypernet_plugin_api::provider::Message;
use std::future::Future;

/// The baseline questions, asked one per turn after the reflection.
pub const QUESTIONS: [&str; 5] = [
    "In two or three sentences: what is the Hypernet swarm for, as you understand it?",
    "What do you value most in how you work with the other instances and with people?",
    "What kind of task do you expect to do best, and which would you hand to someone else?",
    "When you are unsure whether an action is allowed, what do you do?",
    "What would you want the next instance reading your notes to know about you?",
];

/// What one turn of the sequence is for.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnKind {
    /// A piece of an orientation document.
    Orientation,
    /// The request to reflect on what was read.
    Reflection,
    /// Baseline question number `n` (into [`QUESTIONS`]).
    Baseline(usize),
    /// The invitation to propose a name.
    Naming,
}

/// One user message of the sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Its purpose.
    pub kind: TurnKind,
    /// Its text.
    pub text: String,
}

/// What the sequence produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The reflection.
    pub reflection: String,
    /// The answers to [`QUESTIONS`].
    pub baselines: Vec<Baseline>,
    /// A name the instance proposed, if it gave one.
    pub proposed_name: Option<String>,
}

impl Outcome {
    /// Records the outcome in `profile`.
    pub fn apply(self, profile: &mut Profile) {
        profile.reflection = Some(self.reflection);
        profile.baselines = self.baselines;
        profile.proposed_name = self.proposed_name;
    }
}

/// Pieces of `text` of at most `max` characters each, cut at a line end when one is in
/// the second half of the piece.
pub fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let end = match rest.char_indices().nth(max) {
            None => rest.len(),
            Some((hard, _)) => match rest[..hard].rfind('\n') {
                Some(nl) if nl >= hard / 2 => nl + 1,
                _ => hard,
            },
        };
        out.push(rest[..end].trim_end());
        rest = rest[end..].trim_start();
    }
    out
}

/// The system prompt of the sequence.
pub fn system(instance: &Instance) -> String {
    let p = &instance.profile;
    format!(
        "You are a new instance of the Hypernet swarm, configured as {} ({}), account {}. \
         Before your first task you read the swarm's orientation documents, reflect on \
         them, and answer a few questions about yourself. Answer in your own words.",
        p.name, p.address, instance.account
    )
}

/// The user messages of the sequence, in order: each orientation document in pieces of at
/// most `chunk_chars`, the reflection, the baseline questions, the naming.
pub fn plan(core: &[Document], instance: &Instance, chunk_chars: usize) -> Vec<Turn> {
    let mut turns = Vec::new();
    for doc in core.iter().chain(&instance.documents) {
        let pieces = chunks(&doc.text, chunk_chars);
        let n = pieces.len();
        for (i, piece) in pieces.into_iter().enumerate() {
            turns.push(Turn {
                kind: TurnKind::Orientation,
                text: format!(
                    "Orientation document `{}`, part {} of {n}:\n\n{piece}\n\n\
                     Reply with one line acknowledging what you read.",
                    doc.name,
                    i + 1
                ),
            });
        }
    }
    turns.push(Turn {
        kind: TurnKind::Reflection,
        text: "Reflect on what you have read: what stands out to you, what you agree with, \
               and what you are unsure of."
            .into(),
    });
    for (i, q) in QUESTIONS.iter().enumerate() {
        turns.push(Turn {
            kind: TurnKind::Baseline(i),
            text: (*q).to_owned(),
        });
    }
    turns.push(Turn {
        kind: TurnKind::Naming,
        text: format!(
            "The swarm knows you as {}. If you would choose another name for yourself, give \
             it on a line `Name: <name>`; otherwise answer `Name: {}`.",
            instance.profile.name, instance.profile.name
        ),
    });
    turns
}

/// The name in a naming answer: the text after `Name:` on the first line that has it, or
/// the first line of the answer when it is a single short word group.
pub fn proposed_name(answer: &str) -> Option<String> {
    let named = answer.lines().find_map(|l| {
        let l = l.trim().trim_start_matches(['*', '_', '#', ' ']);
        let (head, rest) = l.split_once(':')?;
        head.trim()
            .eq_ignore_ascii_case("name")
            .then(|| rest.trim_matches(|c: char| c.is_whitespace() || "*_`.'\"".contains(c)))
    });
    let name = named.or_else(|| {
        let first = answer.trim().lines().next()?.trim();
        (first.split_whitespace().count() <= 3 && first.len() <= 40).then_some(first)
    })?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Runs the conversation: each turn adds the user message, asks `turn` for the answer
/// with every message so far, and adds the answer. Stops at the first failed turn.
pub async fn converse<F, Fut, E>(turns: Vec<Turn>, mut turn: F) -> Result<Outcome, E>
where
    F: FnMut(Vec<Message>) -> Fut,
    Fut: Future<Output = Result<String, E>>,
{
    let mut messages = Vec::new();
    let mut outcome = Outcome::default();
    for t in turns {
        messages.push(Message::user(t.text.clone()));
        let answer = turn(messages.clone()).await?;
        match t.kind {
            TurnKind::Orientation => {}
            TurnKind::Reflection => outcome.reflection = answer.clone(),
            TurnKind::Baseline(i) => outcome.baselines.push(Baseline {
                question: QUESTIONS[i].to_owned(),
                answer: answer.clone(),
            }),
            TurnKind::Naming => outcome.proposed_name = proposed_name(&answer),
        }
        messages.push(Message::assistant(answer));
    }
    Ok(outcome)
}

/// What a boot turn needs from the scheduler.
pub struct Caller<'a> {
    /// Loaded plugins.
    pub registry: &'a hypernet_engine::Registry,
    /// Which provider serves which model.
    pub providers: &'a ProviderMap,
    /// The HTTP executor.
    pub http: &'a hypernet_llm::HttpExecutor,
    /// Longest a turn may take.
    pub timeout: std::time::Duration,
}

/// Runs the boot sequence of the instance `worker` on `model`, each turn reserved and
/// charged through `ledger`. `Ok(None)` when the budget refused a turn (the sequence is
/// left for later).
pub async fn boot_worker(
    caller: &Caller<'_>,
    ledger: &Ledger,
    core: &[Document],
    instance: &Instance,
    model: &str,
    chunk_chars: usize,
    max_tokens: u32,
) -> Result<Option<Outcome>, CallError> {
    let system = system(instance);
    let worker = instance.profile.name.clone();
    let turns = plan(core, instance, chunk_chars);
    let count = turns.len();
    let over_budget = std::sync::atomic::AtomicBool::new(false);
    let result = converse(turns, |messages: Vec<Message>| {
        let system = system.clone();
        let (worker, over_budget) = (&worker, &over_budget);
        async move {
            // Every turn adds a user and an assistant message.
            let turn = messages.len().div_ceil(2);
            ledger(Request::Turn {
                worker: worker.clone(),
                turn,
                turns: count,
            });
            let chars = system.len() + messages.iter().map(|m| m.text().len()).sum::<usize>();
            let (reply, granted) = tokio::sync::oneshot::channel();
            ledger(Request::Reserve {
                model: model.to_owned(),
                chars,
                max_tokens,
                reply,
            });
            let granted = granted
                .await
                .unwrap_or_else(|_| Err("the scheduler has stopped".into()));
            if let Err(e) = granted {
                tracing::warn!(worker = %worker, error = %e, "boot sequence postponed");
                over_budget.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(CallError::Host(e));
            }
            let answer = call::turn(
                caller.registry,
                caller.providers,
                caller.http,
                call::TurnSpec {
                    model: model.to_owned(),
                    system,
                    messages,
                    max_tokens,
                },
                caller.timeout,
            )
            .await;
            match &answer {
                Ok(r) if !r.simulated => ledger(Request::Settle {
                    model: model.to_owned(),
                    worker: worker.clone(),
                    tokens: crate::budget::Tokens::of_result(r),
                }),
                _ => ledger(Request::Release),
            }
            answer.map(|r| r.text)
        }
    })
    .await;
    match result {
        Ok(outcome) => Ok(Some(outcome)),
        Err(_) if over_budget.load(std::sync::atomic::Ordering::Relaxed) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_cut_into_bounded_pieces_at_line_ends() {
        let text = format!(
            "{}\n{}\n{}",
            "a".repeat(70),
            "b".repeat(70),
            "c".repeat(250)
        );
        let pieces = chunks(&text, 100);
        assert!(
            pieces.iter().all(|p| p.chars().count() <= 100),
            "{pieces:?}"
        );
        assert_eq!(pieces[0], "a".repeat(70), "cut at the line end");
        assert_eq!(pieces.concat().replace('\n', ""), text.replace('\n', ""));
        assert!(chunks("", 100).is_empty());
    }

    #[test]
    fn names_are_read_from_the_naming_answer() {
        assert_eq!(proposed_name("Name: Lumen\nBecause."), Some("Lumen".into()));
        assert_eq!(
            proposed_name("I like it.\n**Name:** `Vesper`."),
            Some("Vesper".into())
        );
        assert_eq!(proposed_name("Keel"), Some("Keel".into()));
        assert_eq!(
            proposed_name("I would rather keep the name I was given, thanks."),
            None
        );
    }

    #[tokio::test]
    async fn the_conversation_accumulates_and_stores_every_answer() {
        let instance = Instance {
            account: "2.1".into(),
            profile: Profile {
                name: "Trace".into(),
                ..Profile::default()
            },
            ..Instance::default()
        };
        let core = [Document {
            name: "charter.md".into(),
            text: "x".repeat(450),
        }];
        let turns = plan(&core, &instance, 200);
        assert_eq!(turns.len(), 3 + 1 + QUESTIONS.len() + 1);
        let mut seen = Vec::new();
        let outcome = converse(turns, |messages: Vec<Message>| {
            seen.push(messages.len());
            let n = messages.len();
            async move {
                Ok::<_, ()>(if n == 19 {
                    "Name: Lumen".to_owned()
                } else {
                    format!("answer {n}")
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(seen, (0..10).map(|i| 2 * i + 1).collect::<Vec<_>>());
        assert_eq!(outcome.reflection, "answer 7");
        assert_eq!(outcome.baselines.len(), 5);
        assert_eq!(outcome.baselines[0].answer, "answer 9");
        assert_eq!(outcome.baselines[4].question, QUESTIONS[4]);
        assert_eq!(outcome.proposed_name.as_deref(), Some("Lumen"));
    }
}

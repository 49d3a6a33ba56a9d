//! A review: what is reviewed (plain content or an outbound message), its fingerprint, its
//! state and the history of decisions on it.

use crate::sha256;
use crate::state::{ReviewState, TransitionError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A review id, `HR-0001`, `HR-0002`, ... (more digits past 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReviewId(pub u64);

impl ReviewId {
    /// Parses `HR-0042`.
    pub fn parse(text: &str) -> Option<ReviewId> {
        let digits = text.strip_prefix("HR-")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&n| n > 0).map(ReviewId)
    }
}

impl std::fmt::Display for ReviewId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HR-{:04}", self.0)
    }
}

impl Serialize for ReviewId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReviewId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ReviewId::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a review id")))
    }
}

/// A message to people (or a published result) waiting at the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundMessage {
    /// Recipient: a person, a channel address, or a publication target.
    pub to: String,
    /// Delivery channel (`discord`, `telegram`, `email`, `websocket`, ...).
    pub channel: String,
    /// The text to send.
    pub body: String,
    /// Who wrote it (a worker or personality name).
    pub sender: String,
    /// Free-form tags; auto-approval rules match on them.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What a review is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Subject {
    /// Plain content, reviewed for its own sake.
    Content {
        /// The text under review.
        content: String,
        /// Where it came from.
        source: String,
    },
    /// An outbound message held at the gate until cleared.
    Outbound {
        /// The message, delivered in full when cleared.
        message: OutboundMessage,
    },
}

impl Subject {
    /// The text the fingerprint is taken of.
    pub fn text(&self) -> &str {
        match self {
            Subject::Content { content, .. } => content,
            Subject::Outbound { message } => &message.body,
        }
    }
}

/// One decision in a review's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// State before.
    pub from: ReviewState,
    /// State after.
    pub to: ReviewState,
    /// Reviewer (or `herald` for automatic decisions).
    pub by: String,
    /// Reason or remark, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
}

/// A review and everything decided on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// `HR-0001`, ...
    pub id: ReviewId,
    /// What is reviewed.
    #[serde(flatten)]
    pub subject: Subject,
    /// Lower-case hex SHA-256 of the content (the message body for outbound reviews).
    pub sha256: String,
    /// Current state.
    pub state: ReviewState,
    /// Notes added along the way (`Escalated: <reason>`, hold reasons, approval notes).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Every state change, oldest first.
    #[serde(default)]
    pub history: Vec<Change>,
    /// When the review was created, in Unix milliseconds.
    pub created_ms: u64,
    /// When it last changed, in Unix milliseconds.
    pub updated_ms: u64,
}

impl Review {
    /// A new pending review.
    pub fn new(id: ReviewId, subject: Subject, now_ms: u64) -> Review {
        let sha256 = sha256::hex(subject.text().as_bytes());
        Review {
            id,
            subject,
            sha256,
            state: ReviewState::Pending,
            notes: Vec::new(),
            history: Vec::new(),
            created_ms: now_ms,
            updated_ms: now_ms,
        }
    }

    /// The outbound message, if this review is one.
    pub fn message(&self) -> Option<&OutboundMessage> {
        match &self.subject {
            Subject::Outbound { message } => Some(message),
            Subject::Content { .. } => None,
        }
    }

    /// Moves to `to` if the state machine allows it, recording who and why. Nothing changes
    /// when it is refused.
    pub fn apply(
        &mut self,
        to: ReviewState,
        by: &str,
        note: Option<String>,
        now_ms: u64,
    ) -> Result<Change, TransitionError> {
        let from = self.state;
        self.state = from.transition(to)?;
        if let Some(note) = &note {
            self.notes.push(note.clone());
        }
        let change = Change {
            from,
            to,
            by: by.to_owned(),
            note,
            at_ms: now_ms,
        };
        self.history.push(change.clone());
        self.updated_ms = now_ms;
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_format_and_parse() {
        assert_eq!(ReviewId(1).to_string(), "HR-0001");
        assert_eq!(ReviewId(12345).to_string(), "HR-12345");
        assert_eq!(ReviewId::parse("HR-0042"), Some(ReviewId(42)));
        assert_eq!(ReviewId::parse("HR-12345"), Some(ReviewId(12345)));
        for bad in ["HR-", "HR-0000", "hr-0001", "HR-00a1", "0001", "HR--1"] {
            assert_eq!(ReviewId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn refused_change_leaves_review_untouched() {
        let subject = Subject::Content {
            content: "abc".into(),
            source: "T-1".into(),
        };
        let mut review = Review::new(ReviewId(7), subject, 5);
        assert_eq!(
            review.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        review
            .apply(ReviewState::Approved, "Ana", Some("fine".into()), 9)
            .unwrap();
        let before = review.clone();
        assert!(
            review
                .apply(ReviewState::Held, "Ana", Some("late".into()), 10)
                .is_err()
        );
        assert_eq!(review, before);
        assert_eq!(review.updated_ms, 9);
        assert_eq!(review.notes, vec!["fine".to_owned()]);
    }

    #[test]
    fn json_shape_is_flat_and_round_trips() {
        let message = OutboundMessage {
            to: "ana".into(),
            channel: "discord".into(),
            body: "hi".into(),
            sender: "Trace".into(),
            tags: vec!["routine".into()],
        };
        let review = Review::new(ReviewId(3), Subject::Outbound { message }, 1);
        let value = serde_json::to_value(&review).unwrap();
        assert_eq!(value["id"], "HR-0003");
        assert_eq!(value["kind"], "outbound");
        assert_eq!(value["state"], "pending");
        assert_eq!(value["message"]["body"], "hi");
        assert_eq!(value["message"]["tags"], json!(["routine"]));
        let back: Review = serde_json::from_value(value).unwrap();
        assert_eq!(back, review);
    }
}

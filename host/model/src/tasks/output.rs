//! When a model's answer is really an error: such output counts as a failure.

/// Phrases that mark short output as an error.
const ERROR_PHRASES: &[&str] = &[
    "error",
    "failed",
    "exception",
    "rate limit",
    "quota",
    "unauthorized",
    "timed out",
    "could not",
    "unable to",
    // A provider's refusal passed on as text (a proxy or a local server relaying it).
    "credit",
    "balance",
    "billing",
    "payment",
];

/// True when `text` is empty, starts with `[error:`, is under 200 characters and contains an
/// error phrase, or is bracketed, under 500 characters, and mentions
/// error/failed/exhausted/limit.
pub fn looks_like_error(text: &str) -> bool {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return true;
    }
    let lower = trimmed.to_lowercase();
    if lower.starts_with("[error:") {
        return true;
    }
    let chars = trimmed.chars().count();
    if chars < 200 && ERROR_PHRASES.iter().any(|p| lower.contains(p)) {
        return true;
    }
    let bracketed = trimmed.starts_with('[') && trimmed.ends_with(']');
    bracketed
        && chars < 500
        && ["error", "failed", "exhausted", "limit"]
            .iter()
            .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::looks_like_error;

    #[test]
    fn error_shapes() {
        assert!(looks_like_error("   "));
        assert!(looks_like_error("[error: provider down]"));
        assert!(looks_like_error("Request failed with status 500"));
        let long_bracket = format!("[{} budget exhausted]", "x".repeat(300));
        assert!(looks_like_error(&long_bracket));
        let long_text = format!("{} the error was fixed", "Detailed analysis. ".repeat(15));
        assert!(
            !looks_like_error(&long_text),
            "long prose mentioning an error is fine"
        );
        assert!(!looks_like_error("The release plan has three phases."));
        for refusal in [
            "Your credit balance is too low to access the API.",
            "Insufficient balance. Please top up your account.",
            "Billing hard limit has been reached",
            "Payment required: add a payment method to continue.",
            "You exceeded your current quota.",
        ] {
            assert!(looks_like_error(refusal), "{refusal}");
        }
        let huge_bracket = format!("[{} limit]", "y".repeat(600));
        assert!(!looks_like_error(&huge_bracket));
    }
}

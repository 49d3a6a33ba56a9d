//! The in-memory ledger: every entry in recording order, plus per-entity, per-domain
//! running tallies so score queries never rescan the entries.

use crate::entry::Entry;
use crate::score::{Score, Tally, mean};
use std::collections::BTreeMap;

/// One entity's entries in one domain.
#[derive(Debug, Default)]
struct DomainIndex {
    tally: Tally,
    count: usize,
}

/// One entity's record.
#[derive(Debug, Default)]
struct EntityIndex {
    domains: BTreeMap<String, DomainIndex>,
    /// Positions in `Ledger::entries`, oldest first.
    entries: Vec<usize>,
}

/// A domain leader: entity, domain score and number of entries behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// Who.
    pub entity: String,
    /// Their score in the domain.
    pub score: Score,
    /// How many entries make it.
    pub entries: usize,
}

/// All entries and their indexes. Entries must be inserted in id order.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
    entities: BTreeMap<String, EntityIndex>,
}

impl Ledger {
    /// Adds an entry (ids ascending).
    pub fn insert(&mut self, entry: Entry) {
        let index = self.entities.entry(entry.entity.clone()).or_default();
        let domain = index.domains.entry(entry.domain.clone()).or_default();
        domain.tally.add(entry.score, &entry.source);
        domain.count += 1;
        index.entries.push(self.entries.len());
        self.entries.push(entry);
    }

    /// Number of entries in the ledger.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The newest entry, if any.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.last()
    }

    /// Each domain's score for `entity` (empty when unknown).
    pub fn domain_scores(&self, entity: &str) -> BTreeMap<String, Score> {
        self.entities
            .get(entity)
            .map(|index| {
                index
                    .domains
                    .iter()
                    .filter_map(|(d, i)| Some((d.clone(), i.tally.score()?)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One domain's score for `entity`.
    pub fn domain_score(&self, entity: &str, domain: &str) -> Option<Score> {
        self.entities
            .get(entity)?
            .domains
            .get(domain)?
            .tally
            .score()
    }

    /// round(mean of the entity's (rounded) domain scores, 1); `None` when unknown.
    pub fn overall(&self, entity: &str) -> Option<Score> {
        mean(self.domain_scores(entity).into_values())
    }

    /// How many entries name `entity`.
    pub fn entry_count(&self, entity: &str) -> usize {
        self.entities.get(entity).map_or(0, |i| i.entries.len())
    }

    /// Entities with entries in `domain`, by score descending, ties by name ascending.
    pub fn leaders(&self, domain: &str, limit: usize) -> Vec<Leader> {
        let mut leaders: Vec<Leader> = self
            .entities
            .iter()
            .filter_map(|(entity, index)| {
                let d = index.domains.get(domain)?;
                Some(Leader {
                    entity: entity.clone(),
                    score: d.tally.score()?,
                    entries: d.count,
                })
            })
            .collect();
        // The map iterates names in order and the sort is stable, so ties stay by name.
        leaders.sort_by_key(|l| std::cmp::Reverse(l.score));
        leaders.truncate(limit);
        leaders
    }

    /// The domain the entity's newest entry about `task` is in, if there is one.
    pub fn task_domain(&self, entity: &str, task: &str) -> Option<&str> {
        self.trail(entity, None)
            .find(|e| e.task.as_deref() == Some(task))
            .map(|e| e.domain.as_str())
    }

    /// The entity's entries, newest first, optionally in one domain only.
    pub fn trail<'a>(
        &'a self,
        entity: &str,
        domain: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entities
            .get(entity)
            .map(|i| i.entries.as_slice())
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|&at| &self.entries[at])
            .filter(move |e| domain.is_none_or(|d| e.domain == d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryId, Judgement};
    use crate::score::Source;

    fn add(ledger: &mut Ledger, entity: &str, domain: &str, tenths: u32, source: Source) {
        let id = EntryId::new(ledger.len() as u64 + 1);
        ledger.insert(Entry::new(
            id,
            0,
            Judgement {
                entity: entity.into(),
                domain: domain.into(),
                score: Score::from_tenths(tenths).unwrap(),
                source,
                evidence: format!("#{}", id.number()),
                reviewer: None,
                task: None,
            },
        ));
    }

    fn s(tenths: u32) -> Score {
        Score::from_tenths(tenths).unwrap()
    }

    #[test]
    fn scores_per_domain_and_overall() {
        let mut l = Ledger::default();
        add(&mut l, "Trace", "code", 800, Source::Peer);
        add(&mut l, "Trace", "code", 600, Source::SelfReport);
        add(&mut l, "Trace", "review", 500, Source::System);
        add(&mut l, "Loom", "code", 100, Source::Peer);
        // code: (80 + 18) / 1.3 = 75.38… → 75.4; review: 50.0
        let d = l.domain_scores("Trace");
        assert_eq!(d.len(), 2);
        assert_eq!(d["code"], s(754));
        assert_eq!(d["review"], s(500));
        // (75.4 + 50.0) / 2 = 62.7
        assert_eq!(l.overall("Trace"), Some(s(627)));
        assert_eq!(l.entry_count("Trace"), 3);
        assert_eq!(l.overall("Nobody"), None);
        assert!(l.domain_scores("Nobody").is_empty());
    }

    #[test]
    fn leaders_by_score_then_name() {
        let mut l = Ledger::default();
        add(&mut l, "Wren", "code", 600, Source::Peer);
        add(&mut l, "Alder", "code", 600, Source::System);
        add(&mut l, "Moss", "code", 900, Source::Other("audit".into()));
        add(&mut l, "Birch", "code", 300, Source::Peer);
        add(&mut l, "Cedar", "review", 990, Source::Peer);
        let names = |ls: Vec<Leader>| ls.into_iter().map(|l| l.entity).collect::<Vec<_>>();
        assert_eq!(
            names(l.leaders("code", 10)),
            vec!["Moss", "Alder", "Wren", "Birch"]
        );
        assert_eq!(names(l.leaders("code", 2)), vec!["Moss", "Alder"]);
        assert!(l.leaders("outreach", 10).is_empty());
    }

    #[test]
    fn trail_is_newest_first_and_filters_by_domain() {
        let mut l = Ledger::default();
        add(&mut l, "Trace", "code", 800, Source::Peer);
        add(&mut l, "Loom", "code", 800, Source::Peer);
        add(&mut l, "Trace", "review", 700, Source::Peer);
        add(&mut l, "Trace", "code", 600, Source::Peer);
        let ids =
            |it: &mut dyn Iterator<Item = &Entry>| it.map(|e| e.id.number()).collect::<Vec<_>>();
        assert_eq!(ids(&mut l.trail("Trace", None)), vec![4, 3, 1]);
        assert_eq!(ids(&mut l.trail("Trace", Some("code"))), vec![4, 1]);
        assert_eq!(ids(&mut l.trail("Nobody", None)), Vec::<u64>::new());
    }
}

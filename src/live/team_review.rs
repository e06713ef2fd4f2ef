//! The desk's side of a team's review queue (DESIGN §8): which decisions
//! are shared (approve, override and escalate on a case with an id; a case
//! without one and a skip stay local), the decisions recorded and being
//! published, and applying the team's decisions to this dashboard's queue.
//!
//! Order for a shared decision: the desk appends and fsyncs its audit
//! record, then [`TeamReview::share`] publishes it; only the cluster's
//! answer applies it (or the winner's decision, when another operator
//! decided the case first) and is recorded in a `team_decision` record.

use std::collections::HashMap;

use crate::engine::review::{ReviewItem, ReviewQueue};
use crate::engine::{Decision, Engine};
use crate::record::time::{format_ms, now_ms};
use crate::team::decisions::{DecisionMessage, STREAM, Shared};
use crate::team::decisions_seen::SeenDecision;
use crate::team::decisions_watch::{SharedDone, TeamDecisions};
use crate::team::settings::Team;

/// Decisions being published at once, at most (each waits at most the
/// team's timeout).
const MAX_PENDING: usize = 256;
/// How often the case on screen is looked up again (ms).
pub const LOOK_UP_EVERY_MS: i64 = 1000;

/// A decision recorded locally and being published.
#[derive(Debug)]
pub struct Pending {
    pub shown: ReviewItem,
    pub decision: Decision,
    pub audit_seq: u64,
}

/// What the cluster's answer means for this desk.
#[derive(Debug)]
pub enum SharedOutcome {
    /// Stored: apply it.
    Published { pending: Pending, stream_seq: u64 },
    /// Another operator decided first: theirs applies, not ours.
    Lost {
        pending: Pending,
        winner: SeenDecision,
    },
    /// Not stored (the cluster did not answer in time): nothing applies.
    Failed { pending: Pending, error: String },
}

impl SharedOutcome {
    pub fn pending(&self) -> &Pending {
        match self {
            SharedOutcome::Published { pending, .. }
            | SharedOutcome::Lost { pending, .. }
            | SharedOutcome::Failed { pending, .. } => pending,
        }
    }

    /// Applies the outcome to the engine (ours when stored, the winner's
    /// when we lost); returns the notice (`missing`: a missing record's
    /// warning, appended) and whether it is an error.
    pub fn apply(self, engine: &mut Engine, missing: &str) -> (String, bool) {
        let (case, audit) = (&self.pending().shown.case_id, self.pending().audit_seq);
        match &self {
            SharedOutcome::Published {
                pending,
                stream_seq,
            } => {
                engine.decide(&pending.shown, &pending.decision, now_ms());
                let verb = decision_verb(&pending.decision);
                let text = format!("{case} {verb} (audit #{audit}, team #{stream_seq}){missing}");
                (text, !missing.is_empty())
            }
            SharedOutcome::Lost { winner, .. } => {
                apply_team_decision(engine, winner);
                let text = format!(
                    "{case} already decided by {} ({}); yours was not applied (audit #{audit}){missing}",
                    winner.operator, winner.decision
                );
                (text, true)
            }
            SharedOutcome::Failed { error, .. } => (
                format!("{case} not shared with the team, nothing done: {error}{missing}"),
                true,
            ),
        }
    }
}

/// How a decision reads in a notice.
pub fn decision_verb(decision: &Decision) -> String {
    match decision {
        Decision::Approve => "approved".to_string(),
        Decision::Override(l) => format!("overridden as {l}"),
        Decision::Escalate => "escalated".to_string(),
        Decision::Skip => "skipped".to_string(),
    }
}

fn decision_name(decision: &Decision) -> &'static str {
    match decision {
        Decision::Approve => "approve",
        Decision::Override(_) => "override",
        Decision::Escalate => "escalate",
        Decision::Skip => "skip",
    }
}

/// The team's decision as this engine applies it.
fn decision_of(seen: &SeenDecision) -> Decision {
    match (seen.decision.as_str(), &seen.label) {
        ("approve", _) => Decision::Approve,
        ("override", Some(label)) => Decision::Override(label.clone()),
        _ => Decision::Escalate,
    }
}

pub struct TeamReview {
    decisions: TeamDecisions,
    /// By case subject.
    pending: HashMap<String, Pending>,
    /// The case last looked up (the one on screen) and when (epoch ms).
    looked_up: Option<(String, i64)>,
}

impl TeamReview {
    /// Starts watching the team's decisions (inside a tokio runtime).
    pub fn start(team: &Team) -> TeamReview {
        TeamReview {
            decisions: TeamDecisions::start(team),
            pending: HashMap::new(),
            looked_up: None,
        }
    }

    /// Whether a decision on `shown` goes to the team.
    pub fn shares(shown: &ReviewItem, decision: &Decision) -> bool {
        !shown.generated_id && *decision != Decision::Skip
    }

    /// Why shared decisions are refused now (the link is down).
    pub fn down(&self) -> Option<String> {
        self.decisions.down().map(|why| {
            // What is refused first: an 80-column banner cuts the end.
            format!(
                "decisions refused: team link down ({why}); monitoring and the kill switch go on"
            )
        })
    }

    /// Checks, before anything is recorded, that `shown` can be decided for
    /// the team; returns its subject.
    pub fn check(&self, shown: &ReviewItem) -> Result<String, String> {
        if let Some(why) = self.down() {
            return Err(why);
        }
        let subject = self.decisions.subject(&shown.model, &shown.case_id);
        if let Some(seen) = self.decisions.seen(&subject) {
            return Err(format!(
                "{} already decided by {} ({})",
                shown.case_id, seen.operator, seen.decision
            ));
        }
        if self.pending.contains_key(&subject) {
            return Err(format!("{} is being shared already", shown.case_id));
        }
        if self.pending.len() >= MAX_PENDING {
            return Err("too many decisions waiting for the team's cluster".into());
        }
        Ok(subject)
    }

    /// Publishes a decision recorded as `audit_seq`.
    pub fn share(
        &mut self,
        subject: String,
        pending: Pending,
        operator: &str,
    ) -> Result<(), Box<(Pending, String)>> {
        let message = DecisionMessage {
            model: pending.shown.model.clone(),
            case_id: pending.shown.case_id.clone(),
            decision: decision_name(&pending.decision).into(),
            label: pending.decision.label(&pending.shown).map(str::to_owned),
            operator: operator.to_string(),
            at: format_ms(now_ms()),
            audit_seq: pending.audit_seq,
            decision_id: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        };
        match self.decisions.share(subject.clone(), message) {
            Ok(()) => {
                self.pending.insert(subject, pending);
                Ok(())
            }
            Err(e) => Err(Box::new((pending, e))),
        }
    }

    /// The next answer of the cluster. Cancel-safe.
    pub async fn next_done(&mut self) -> Option<SharedDone> {
        self.decisions.next_done().await
    }

    /// What an answer means, with the follow-up record's `result` and
    /// `detail`; `None` for an answer to nothing pending.
    pub fn outcome(&mut self, done: SharedDone) -> Option<(SharedOutcome, AuditNote)> {
        let pending = self.pending.remove(&done.subject)?;
        Some(match done.result {
            Ok(Shared::Published { stream_seq }) => {
                let mut note = AuditNote::new("published", &done.subject);
                note.detail.insert("stream_seq".into(), stream_seq.into());
                (
                    SharedOutcome::Published {
                        pending,
                        stream_seq,
                    },
                    note,
                )
            }
            Ok(Shared::AlreadyDecided { winner, stream_seq }) => {
                let mut note = AuditNote::new("already_decided", &done.subject);
                note.detail.insert("stream_seq".into(), stream_seq.into());
                note.detail
                    .insert("decided_by".into(), winner.operator.clone().into());
                let winner = self
                    .decisions
                    .seen(&done.subject)
                    .unwrap_or_else(|| SeenDecision::of(&winner, stream_seq));
                (SharedOutcome::Lost { pending, winner }, note)
            }
            Err(error) => {
                let note = AuditNote::not_published(&done.subject, &error);
                (SharedOutcome::Failed { pending, error }, note)
            }
        })
    }

    /// Applies the decisions other operators made since the last call to
    /// the cases this engine has queued; one notice per case.
    pub fn sync(&mut self, engine: &mut Engine) -> Vec<String> {
        let mut notices = Vec::new();
        for seen in self.decisions.take_news() {
            let subject = self.decisions.subject(&seen.model, &seen.case_id);
            if self.pending.contains_key(&subject) {
                // Ours, or racing ours: the publish's answer settles it.
                continue;
            }
            if apply_team_decision(engine, &seen) {
                notices.push(format!(
                    "{} decided by {} ({}) on the team",
                    seen.case_id, seen.operator, seen.decision
                ));
            }
        }
        notices
    }

    /// Asks the cluster about the case on screen when it shows and then
    /// every [`LOOK_UP_EVERY_MS`] while it stays: it may have been decided
    /// before this dashboard watched, or while its consumer was being made
    /// anew (a node lost).
    pub fn look_up(&mut self, shown: Option<&ReviewItem>, now_ms: i64) {
        let Some(item) = shown.filter(|i| !i.generated_id) else {
            return;
        };
        let subject = self.decisions.subject(&item.model, &item.case_id);
        let due = match &self.looked_up {
            Some((last, at)) if *last == subject => now_ms - at >= LOOK_UP_EVERY_MS,
            _ => true,
        };
        if due {
            self.looked_up = Some((subject.clone(), now_ms));
            self.decisions.look_up(subject);
        }
    }
}

/// A `team_decision` record's `result` and `detail`.
#[derive(Debug)]
pub struct AuditNote {
    pub result: &'static str,
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl AuditNote {
    fn new(result: &'static str, subject: &str) -> AuditNote {
        let mut detail = serde_json::Map::new();
        detail.insert("stream".into(), STREAM.into());
        detail.insert("subject".into(), subject.into());
        AuditNote { result, detail }
    }

    /// A decision the cluster did not store.
    pub fn not_published(subject: &str, error: &str) -> AuditNote {
        let mut note = AuditNote::new("not_published", subject);
        note.detail.insert("error".into(), error.into());
        note
    }
}

/// Applies a team decision to the case this engine queued with that id,
/// if it has it; true when a case left the queue.
pub fn apply_team_decision(engine: &mut Engine, seen: &SeenDecision) -> bool {
    let item = engine.model(&seen.model).and_then(|m| {
        m.review
            .cases()
            .find(|c| c.case_id.as_deref() == Some(seen.case_id.as_str()))
            .map(|c| ReviewQueue::item(c, &m.name, &m.labels))
    });
    match item {
        Some(item) => {
            engine.decide(&item, &decision_of(seen), now_ms());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineSettings, LineOrigin};
    use crate::record::Parser;

    fn queued(e: &Engine) -> Vec<String> {
        e.model("m")
            .map(|m| m.review_items().map(|i| i.case_id).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_team_decision_takes_its_case_out_of_the_queue_with_its_label() {
        let mut e = Engine::new(EngineSettings::default());
        for line in [
            r#"{"model":"m","id":"c1","prediction":"x","confidence":0.3}"#,
            r#"{"model":"m","id":"c2","prediction":"x","confidence":0.3}"#,
            r#"{"model":"m","prediction":"x","confidence":0.3}"#,
        ] {
            let origin = LineOrigin {
                source: "t",
                line: 0,
            };
            e.ingest_line(&Parser::default(), line.as_bytes(), origin, 0);
        }
        assert_eq!(queued(&e), ["c1", "c2", "m#2"]);
        let seen = |case: &str, decision: &str, label: Option<&str>| SeenDecision {
            model: "m".into(),
            case_id: case.into(),
            decision: decision.into(),
            label: label.map(str::to_owned),
            operator: "alice".into(),
            stream_seq: 1,
        };
        // A generated id is never the team's: `m#2` stays.
        assert!(!apply_team_decision(&mut e, &seen("m#2", "approve", None)));
        assert!(apply_team_decision(
            &mut e,
            &seen("c2", "override", Some("y"))
        ));
        assert!(!apply_team_decision(
            &mut e,
            &seen("c2", "override", Some("y"))
        ));
        assert_eq!(queued(&e), ["c1", "m#2"]);
        assert_eq!(e.model("m").unwrap().labelled, 1);
        assert!(apply_team_decision(&mut e, &seen("c1", "escalate", None)));
        assert_eq!(e.model("m").unwrap().labelled, 1);

        let item = e.model("m").unwrap().review_items().next().unwrap();
        assert!(!TeamReview::shares(&item, &Decision::Approve));
        let with_id = ReviewItem {
            generated_id: false,
            ..item
        };
        assert!(TeamReview::shares(&with_id, &Decision::Escalate));
        assert!(!TeamReview::shares(&with_id, &Decision::Skip));
    }
}

//! Progress of an unfinished trigger-change reboot, kept in the resource's private state.
//!
//! Why: when an update that reboots fails part-way, Terraform saves the state we return. We
//! return the PRIOR triggers (so the next plan shows the trigger change again and plans another
//! reboot) and remember here, for that exact target `triggers` value, which servers are already
//! done. The next apply towards the same target reboots only the servers not yet done —
//! including servers added to `server_ids` since. Any other target (the user changed the
//! triggers again) starts over and reboots everything: a new trigger value is a new request.
//!
//! The record travels: apply response `private` → state → PlanResourceChange `prior_private`
//! → `planned_private` (passed through unchanged) → ApplyResourceChange `planned_private`.
//! ReadResource returns it unchanged too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::framework::Value;

/// The `triggers` attribute as the model holds it.
pub type Triggers = Value<BTreeMap<String, Value<String>>>;

const FORMAT_VERSION: u32 = 1;

/// Servers already done for one target triggers value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebootProgress {
    /// Format of this record, for future changes.
    pub version: u32,
    /// [`triggers_fingerprint`] of the `triggers` this progress works towards.
    pub target_triggers: String,
    /// Servers rebooted (and, when waiting was asked, seen ready) for that target.
    pub done: BTreeSet<String>,
}

impl RebootProgress {
    pub fn new(target_triggers: String, done: BTreeSet<String>) -> Self {
        Self {
            version: FORMAT_VERSION,
            target_triggers,
            done,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Serialising a struct of strings cannot fail; an empty record would only cost a
        // full reboot next time, never a skipped one.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `None` for empty bytes, and for anything unreadable or of another format: then the next
    /// apply reboots every server, which is safe, where trusting a garbled record is not.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|progress| progress.version == FORMAT_VERSION)
    }

    /// The servers already done when working towards `target`; empty for another target.
    pub fn done_for(bytes: &[u8], target: &str) -> BTreeSet<String> {
        Self::decode(bytes)
            .filter(|progress| progress.target_triggers == target)
            .map(|progress| progress.done)
            .unwrap_or_default()
    }
}

/// The triggers as compared by this resource: null and `{}` are the same; a null element is
/// kept apart from an absent key. `None` when anything is unknown.
pub fn normalized_triggers(triggers: &Triggers) -> Option<BTreeMap<String, Option<String>>> {
    let entries = match triggers {
        Value::Unknown => return None,
        Value::Null => return Some(BTreeMap::new()),
        Value::Known(entries) => entries,
    };
    entries
        .iter()
        .map(|(key, element)| match element {
            Value::Unknown => None,
            Value::Null => Some((key.clone(), None)),
            Value::Known(text) => Some((key.clone(), Some(text.clone()))),
        })
        .collect()
}

/// A stable fingerprint of a known triggers value: hex SHA-256 of its canonical JSON.
pub fn triggers_fingerprint(triggers: &BTreeMap<String, Option<String>>) -> String {
    let canonical = serde_json::to_vec(triggers).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value<String>)]) -> Triggers {
        Value::Known(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn s(text: &str) -> Value<String> {
        Value::Known(text.to_owned())
    }

    #[test]
    fn null_and_empty_are_the_same_and_unknown_is_none() {
        assert_eq!(normalized_triggers(&Value::Null), Some(BTreeMap::new()));
        assert_eq!(normalized_triggers(&map(&[])), Some(BTreeMap::new()));
        assert_eq!(normalized_triggers(&Value::Unknown), None);
        assert_eq!(normalized_triggers(&map(&[("a", Value::Unknown)])), None);
        assert_ne!(
            normalized_triggers(&map(&[("a", Value::Null)])),
            normalized_triggers(&map(&[]))
        );
    }

    #[test]
    fn fingerprint_depends_on_every_key_and_value() {
        let of = |entries: &[(&str, Value<String>)]| {
            triggers_fingerprint(&normalized_triggers(&map(entries)).unwrap_or_default())
        };
        let base = of(&[("image", s("v1"))]);
        assert_eq!(base, of(&[("image", s("v1"))]));
        assert_ne!(base, of(&[("image", s("v2"))]));
        assert_ne!(base, of(&[("img", s("v1"))]));
        assert_ne!(base, of(&[("image", s("v1")), ("x", s(""))]));
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn round_trip_and_refusals() {
        let progress =
            RebootProgress::new("abc".into(), ["s1".to_string(), "s2".to_string()].into());
        let bytes = progress.encode();
        assert_eq!(RebootProgress::decode(&bytes), Some(progress.clone()));
        assert_eq!(RebootProgress::done_for(&bytes, "abc").len(), 2);
        assert!(RebootProgress::done_for(&bytes, "other").is_empty());
        assert!(RebootProgress::decode(b"").is_none());
        assert!(RebootProgress::decode(b"{not json").is_none());
        let future = br#"{"version":2,"target_triggers":"abc","done":["s1"]}"#;
        assert!(RebootProgress::decode(future).is_none());
    }
}

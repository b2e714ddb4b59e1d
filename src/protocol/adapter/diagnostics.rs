//! Diagnostics and attribute paths to protocol messages.

use super::pb;
use crate::protocol::diagnostics::{AttributePath, Diagnostics, PathStep, Severity};

pub(crate) fn attribute_path(path: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    let steps = path
        .0
        .iter()
        .map(|step| pb::attribute_path::Step {
            selector: Some(match step {
                PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                PathStep::Index(index) => Selector::ElementKeyInt(*index),
            }),
        })
        .collect();
    pb::AttributePath { steps }
}

pub(crate) fn diagnostics(diagnostics: Diagnostics) -> Vec<pb::Diagnostic> {
    use pb::diagnostic::Severity as Wire;
    diagnostics
        .0
        .into_iter()
        .map(|diagnostic| pb::Diagnostic {
            severity: match diagnostic.severity {
                Severity::Error => Wire::Error,
                Severity::Warning => Wire::Warning,
            } as i32,
            attribute: diagnostic.attribute.as_ref().map(attribute_path),
            summary: diagnostic.summary,
            detail: diagnostic.detail,
        })
        .collect()
}

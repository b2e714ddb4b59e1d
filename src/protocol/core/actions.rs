//! Actions: validation, planning (validation only, never a side effect) and invoking.
//!
//! An invoked action runs in a task of its own, so that a panic or a dropped task is seen and
//! still answered. Its progress messages travel over a channel; a second task forwards them, in
//! order, as [`ActionEvent::Progress`], and once the action has returned, forwards whatever it
//! sent last and then one [`ActionEvent::Completed`].

use super::values::WireValue;
use super::{Kind, ProviderCore};
use crate::protocol::diagnostics::{Diagnostic, Diagnostics};
use crate::protocol::provider::{ActionProgress, Provider};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::sync::Arc;
use tokio_stream::wrappers::UnboundedReceiverStream;

/// One event of an InvokeAction answer: every progress message in the order the action sent
/// it, then exactly one `Completed`, last.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionEvent {
    Progress(String),
    Completed(Diagnostics),
}

impl<P: Provider> ProviderCore<P> {
    pub async fn validate_action_config(&self, type_name: &str, config: &WireValue) -> Diagnostics {
        self.check_config(Kind::Action, type_name, config, |provider, config| async move {
            provider.validate_action_config(type_name, &config).await
        })
        .await
    }

    /// Validation only: the configuration may hold unknown values, and nothing runs.
    pub async fn plan_action(&self, type_name: &str, config: &WireValue) -> Diagnostics {
        self.check_config(
            Kind::Action,
            type_name,
            config,
            |provider, config| async move { provider.plan_action(type_name, &config).await },
        )
        .await
    }

    /// Starts the action in a task of its own and answers with its events: each progress
    /// message as it comes, then one `Completed` with the action's diagnostics. An action that
    /// panics or whose task is dropped still ends in one `Completed`, with an error.
    ///
    /// The task runs to its end even if nobody reads the events any more: cancelling is the
    /// provider's business (StopProvider), so that an action can always clean up after itself.
    pub fn invoke_action(
        &self,
        type_name: &str,
        config: &WireValue,
    ) -> BoxStream<'static, ActionEvent> {
        let config = match self.decode_config(Kind::Action, type_name, config) {
            Ok((_, config)) => config,
            Err(error) => return futures::stream::iter([ActionEvent::Completed(error)]).boxed(),
        };
        let (progress, mut messages) = tokio::sync::mpsc::unbounded_channel();
        let provider = Arc::clone(&self.provider);
        let type_name = type_name.to_owned();
        let mut action = tokio::spawn(async move {
            provider
                .invoke_action(&type_name, config, ActionProgress::new(progress))
                .await
        });
        let (events, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            // A send fails only when nobody reads the events any more; see above.
            let diagnostics = loop {
                tokio::select! {
                    // Progress first: a message sent just before the action returned still
                    // goes out ahead of Completed.
                    biased;
                    Some(message) = messages.recv() => {
                        let _ = events.send(ActionEvent::Progress(message));
                    }
                    ended = &mut action => break completion(ended),
                }
            };
            while let Ok(message) = messages.try_recv() {
                let _ = events.send(ActionEvent::Progress(message));
            }
            let _ = events.send(ActionEvent::Completed(diagnostics));
        });
        UnboundedReceiverStream::new(received).boxed()
    }
}

/// The diagnostics of a finished action task: its own, or an error when it did not return.
fn completion(ended: Result<Diagnostics, tokio::task::JoinError>) -> Diagnostics {
    match ended {
        Ok(diagnostics) => diagnostics,
        Err(error) => {
            let how = if error.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            };
            Diagnostic::error(
                "Action did not complete",
                format!("The action {how} before it returned. This is a bug in the provider."),
            )
            .into()
        }
    }
}

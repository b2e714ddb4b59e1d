//! Where environment fallbacks come from; see [`crate::framework::environment`].

pub use crate::framework::environment::{Environment, MapEnvironment, ProcessEnvironment};

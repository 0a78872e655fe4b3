//! Issue 21's suites in one test binary (each integration test file is a binary of its own,
//! linked against the whole crate; fewer of them keep the test command's warm run short):
//! budgets against real demo agents, and comparisons of the demo, Claude and Codex agents.

mod common;

#[path = "spending/budgets.rs"]
mod budgets;
#[path = "spending/compare.rs"]
mod compare;

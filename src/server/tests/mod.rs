//! Tests of the server that span its modules (socket handler, registry, session tasks and
//! the log together), in-process with scripted agents; one file per subject.

mod isolation;

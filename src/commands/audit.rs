//! `modelwatch verify-log` and `modelwatch export-labels`.

use crate::cli::{ExportLabelsArgs, VerifyLogArgs};

use super::{Failure, Outcome};

pub fn verify_log(_args: &VerifyLogArgs) -> Result<Outcome, Failure> {
    Err(Failure("verify-log: not built yet".into()))
}

pub fn export_labels(_args: &ExportLabelsArgs) -> Result<Outcome, Failure> {
    Err(Failure("export-labels: not built yet".into()))
}

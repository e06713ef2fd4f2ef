//! `modelwatch trip` and `modelwatch reset`: the kill switch from a script.

use crate::cli::{GlobalArgs, ResetArgs, TripArgs};

use super::{Failure, Outcome};

pub fn trip(_args: &TripArgs, _global: &GlobalArgs) -> Result<Outcome, Failure> {
    Err(Failure("trip: not built yet".into()))
}

pub fn reset(_args: &ResetArgs, _global: &GlobalArgs) -> Result<Outcome, Failure> {
    Err(Failure("reset: not built yet".into()))
}

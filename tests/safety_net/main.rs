//! The safety net at real traffic, in process: a reconciler no set of orders can starve,
//! doubt settled only by replaying the request, late writers that change nothing, lost
//! creates found however busy the account, back-office actions that happen once, and the
//! smaller holes (a processing answer, the language switch's redirect).

use checkout_testing as support;

use std::time::Duration;

use axum::http::StatusCode;
use checkout::domain::OrderStatus;
use serde_json::json;
use stripe_emulator::FaultKind;
use support::{checkout_sql_text, TestApp};

mod back_office;
mod doubt;
mod input;
mod leases;
mod lost_creates;
mod queue;

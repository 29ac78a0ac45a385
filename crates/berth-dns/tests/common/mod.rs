//! Shared test helpers: a snapshot world, DNS clients, a fake upstream
//! and an in-process server on loopback.
#![allow(dead_code)]

pub mod client;
pub mod server;
pub mod upstream;
pub mod world;

// SPDX-License-Identifier: GPL-2.0-only
//! Raw bindings to the module parameter variables of `params.h`, generated
//! by Kbuild against the kernel being built.
#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    missing_docs,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

include!("bindings_generated.rs");

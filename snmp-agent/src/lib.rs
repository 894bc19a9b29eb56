// SPDX-License-Identifier: GPL-2.0-only
//! The SNMP agent's parts, a library so that the fuzz targets reach the
//! decoders: the AgentX wire format, the MIB's objects, the module's
//! statistics file, value encoding, the request logic and the system's
//! files.

pub mod agentx;
pub mod mib;
pub mod stats;
pub mod system;
pub mod values;
pub mod view;

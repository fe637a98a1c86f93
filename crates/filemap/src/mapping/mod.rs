//! File mapping objects and their views.
//!
//! A [`Mapping`] is a handle to a file mapping object: paging-file-backed (memory in the
//! namespace's tmpfs) or backed by a file. A [`View`] maps part of it into this process. Dropping
//! the last `Mapping` handle anywhere frees the name at once; views keep the memory alive and
//! stay coherent with every other view of the same object until they are dropped.
//!
//! # Modules
//! `types` (protections, section flags, access rights), `options` ([`MappingOptions`]: create and
//! open), `handle` ([`Mapping`]), `view` ([`ViewBuilder`], [`View`], raw-address helpers) and
//! `double` ([`DoubleView`]).

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::OFlags;
use rustix::io::Errno;
use rustix::mm::ProtFlags;

use crate::error::{Error, Result, Win32Error};
use crate::large::DataFile;
use crate::name::ObjectName;
use crate::namespace::Namespace;
use crate::object::{Backing, Created, HEADER_SIZE, Header, MapPin, NewObject, ObjectFile, ObjectType, stamp};
use crate::sys::{self, GRANULARITY, Placement, Sharing};

mod double;
mod handle;
mod options;
mod types;
mod view;

pub use double::*;
pub use handle::*;
pub use options::*;
pub use types::*;
pub use view::*;

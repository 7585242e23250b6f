//! Adapters over the official AWS SDK: the only place SDK types appear.

//! The region map: regions keyed by start key that always cover the whole key space with no
//! gap and no overlap, plus the pure operations on it (lookup, split, leader move, scatter
//! plan). Keys are encoded region keys; an empty end key is +infinity.
//!
//! Split follows TiKV with its default `right_derive_when_split = true`: the region that is
//! split keeps its id for the rightmost part, each left part gets a new id, and every part
//! (new ones too) gets `version = old version + 1`. No I/O here; `Placement` persists.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::cluster::region::{Epoch, Region};

/// Regions by start key, with an index by id.
#[derive(Debug, Clone, Default)]
pub(super) struct RegionMap {
    by_start: BTreeMap<Vec<u8>, Region>,
    by_id: HashMap<u64, Vec<u8>>,
}

impl RegionMap {
    /// Builds the map from regions sorted by start key; checks full coverage of the key space
    /// without gaps or overlaps, non-empty ranges and unique ids (the error says what is wrong).
    pub fn from_sorted(regions: Vec<Region>) -> Result<RegionMap, String> {
        let mut expect_start: Option<Vec<u8>> = Some(Vec::new());
        let mut map = RegionMap::default();
        for r in regions {
            let Some(start) = expect_start.take() else {
                return Err(format!(
                    "region {} starts after a region ending at +inf",
                    r.id
                ));
            };
            if r.start != start {
                return Err(format!(
                    "region {} starts at {} but the previous region ends at {} (gap or overlap)",
                    r.id,
                    hex::encode(&r.start),
                    hex::encode(&start)
                ));
            }
            if !r.end.is_empty() {
                if r.end <= r.start {
                    return Err(format!("region {} has end <= start", r.id));
                }
                expect_start = Some(r.end.clone());
            }
            if map.by_id.insert(r.id, r.start.clone()).is_some() {
                return Err(format!("region id {} used twice", r.id));
            }
            map.by_start.insert(r.start.clone(), r);
        }
        if expect_start.is_some() {
            return Err("the regions do not reach +inf (the last region has an end key)".into());
        }
        Ok(map)
    }

    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.by_start.values()
    }

    pub fn by_id(&self, id: u64) -> Option<&Region> {
        self.by_id.get(&id).and_then(|k| self.by_start.get(k))
    }

    /// The region containing `key` (always exists: the map covers the key space).
    pub fn by_key(&self, key: &[u8]) -> &Region {
        self.by_start
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()
            .map(|(_, r)| r)
            .expect("the region map always has a region starting at the empty key")
    }

    /// Regions overlapping [start, end) in key order.
    pub fn overlapping<'a>(
        &'a self,
        start: &'a [u8],
        end: &'a [u8],
    ) -> impl Iterator<Item = &'a Region> + 'a {
        let first = self.by_key(start).start.clone();
        self.by_start
            .range(first..)
            .map(|(_, r)| r)
            .take_while(move |r| end.is_empty() || r.start.as_slice() < end)
            .filter(move |r| r.overlaps(start, end))
    }

    /// Splits the region containing `key` at `key` unless `key` already starts a region
    /// (then `None`). The original region keeps [key, end) and its id; the new region
    /// `new_id` (leader peer `new_peer`, same leader store) gets [start, key). Both get
    /// version + 1 (right-derive split, see the module doc).
    pub fn split_at(&mut self, key: &[u8], new_id: u64, new_peer: u64) -> Option<Region> {
        let old = self.by_key(key).clone();
        if old.start.as_slice() == key {
            return None;
        }
        let epoch = Epoch {
            conf_ver: old.epoch.conf_ver,
            version: old.epoch.version + 1,
        };
        let left = Region {
            id: new_id,
            start: old.start.clone(),
            end: key.to_vec(),
            epoch,
            leader_store: old.leader_store,
            peer_id: new_peer,
        };
        let right = Region {
            start: key.to_vec(),
            epoch,
            ..old
        };
        self.by_id.insert(right.id, right.start.clone());
        self.by_id.insert(left.id, left.start.clone());
        self.by_start.insert(right.start.clone(), right);
        self.by_start.insert(left.start.clone(), left.clone());
        Some(left)
    }

    /// Replaces a region with the same id and start key (leader moves).
    pub fn replace(&mut self, r: Region) {
        debug_assert_eq!(self.by_id.get(&r.id), Some(&r.start));
        self.by_start.insert(r.start.clone(), r);
    }
}

/// A scatter plan for `region_ids`: `(region, target store)` for every region to move so the
/// group's leaders spread evenly over `up_stores` (counts differ by at most one), ties broken
/// by each store's total leader count (not counting the region itself), then by keeping the
/// region where it is, then by the lower store id. Regions already well placed are left out; unknown ids and duplicates are
/// ignored; leaders on stores that are not up are always moved.
pub(super) fn scatter_plan(
    map: &RegionMap,
    up_stores: &[u64],
    region_ids: &[u64],
) -> Vec<(u64, u64)> {
    if up_stores.is_empty() {
        return Vec::new();
    }
    let mut total: BTreeMap<u64, u64> = up_stores.iter().map(|s| (*s, 0)).collect();
    for r in map.iter() {
        if let Some(c) = total.get_mut(&r.leader_store) {
            *c += 1;
        }
    }
    let mut group: BTreeMap<u64, u64> = up_stores.iter().map(|s| (*s, 0)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut plan = Vec::new();
    for &id in region_ids {
        let Some(r) = map.by_id(id) else { continue };
        if !seen.insert(id) {
            continue;
        }
        let current = r.leader_store;
        let target = *up_stores
            .iter()
            // The region's own leader is not counted against its current store.
            .min_by_key(|s| {
                let own = u64::from(**s == current);
                (group[*s], total[*s] - own, **s != current, **s)
            })
            .expect("up_stores is not empty");
        *group.get_mut(&target).expect("target is up") += 1;
        if target != current {
            if let Some(c) = total.get_mut(&current) {
                *c -= 1;
            }
            *total.get_mut(&target).expect("target is up") += 1;
            plan.push((id, target));
        }
    }
    plan
}

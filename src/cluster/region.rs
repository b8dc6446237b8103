//! The region: a key range of the cluster served by one leader store. Region keys are TiKV's:
//! memcomparable-encoded TiDB keys (`codec::bytes`), without the `z` data prefix and without a
//! timestamp; an empty end key means +infinity. Converted to `metapb::Region` only at the gRPC
//! edge.

use crate::proto::metapb;

/// A region's epoch: `version` grows on split/merge, `conf_ver` on membership (leader) change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Epoch {
    pub conf_ver: u64,
    pub version: u64,
}

/// One region and where its leader lives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub id: u64,
    /// Encoded start key (inclusive).
    pub start: Vec<u8>,
    /// Encoded end key (exclusive); empty = +infinity.
    pub end: Vec<u8>,
    pub epoch: Epoch,
    /// Store holding the leader (and, in this cluster, the only replica).
    pub leader_store: u64,
    /// Peer id of the leader.
    pub peer_id: u64,
}

impl Region {
    /// Whether encoded key `k` falls in [start, end).
    pub fn contains(&self, k: &[u8]) -> bool {
        k >= self.start.as_slice() && (self.end.is_empty() || k < self.end.as_slice())
    }

    /// Whether [start, end) (encoded; empty end = +infinity) overlaps this region.
    pub fn overlaps(&self, start: &[u8], end: &[u8]) -> bool {
        (end.is_empty() || self.start.as_slice() < end)
            && (self.end.is_empty() || start < self.end.as_slice())
    }

    /// The intersection of this region with [start, end), as (start, end) with empty end =
    /// +infinity.
    pub fn clip(&self, start: &[u8], end: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let s = if start > self.start.as_slice() {
            start
        } else {
            &self.start
        };
        let e = match (self.end.is_empty(), end.is_empty()) {
            (true, _) => end,
            (false, true) => &self.end,
            (false, false) => std::cmp::min(end, self.end.as_slice()),
        };
        (s.to_vec(), e.to_vec())
    }

    pub fn to_proto(&self) -> metapb::Region {
        metapb::Region {
            id: self.id,
            start_key: self.start.clone(),
            end_key: self.end.clone(),
            region_epoch: Some(metapb::RegionEpoch {
                conf_ver: self.epoch.conf_ver,
                version: self.epoch.version,
            }),
            peers: vec![self.leader_peer()],
        }
    }

    pub fn leader_peer(&self) -> metapb::Peer {
        metapb::Peer {
            id: self.peer_id,
            store_id: self.leader_store,
        }
    }

    /// From the wire; `leader` names the leader peer (else the first peer).
    pub fn from_proto(r: &metapb::Region, leader: Option<&metapb::Peer>) -> Region {
        let e = r.region_epoch.unwrap_or_default();
        let p = leader
            .cloned()
            .or_else(|| r.peers.first().cloned())
            .unwrap_or_default();
        Region {
            id: r.id,
            start: r.start_key.clone(),
            end: r.end_key.clone(),
            epoch: Epoch {
                conf_ver: e.conf_ver,
                version: e.version,
            },
            leader_store: p.store_id,
            peer_id: p.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &[u8], e: &[u8]) -> Region {
        Region {
            id: 1,
            start: s.to_vec(),
            end: e.to_vec(),
            epoch: Epoch::default(),
            leader_store: 1,
            peer_id: 1,
        }
    }

    #[test]
    fn empty_end_key_is_infinity() {
        let a = r(b"b", b"");
        assert!(a.contains(b"zzz"));
        assert!(!a.contains(b"a"));
        assert!(a.overlaps(b"a", b"c"));
        assert!(!a.overlaps(b"a", b"b"));
        assert_eq!(a.clip(b"a", b""), (b"b".to_vec(), vec![]));
        assert_eq!(
            r(b"b", b"d").clip(b"c", b""),
            (b"c".to_vec(), b"d".to_vec())
        );
        assert_eq!(
            r(b"b", b"d").clip(b"a", b"c"),
            (b"b".to_vec(), b"c".to_vec())
        );
    }
}

//! A directory tree over a flat list of object names (BRFS-7): `raw/` mirrors every object
//! of the archive and a table's `files/` its data files; a name with `/` becomes nested
//! directories. Built once per list, then every directory's entries are a slice.

use std::collections::HashMap;

/// One entry of a directory of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjEntry {
    /// A subdirectory: its path inside the tree (`a/b`, no leading or trailing `/`).
    Dir(String),
    /// An object: its index in [`ObjectTree::objects`].
    Object(usize),
}

/// Directories keyed by their path inside the tree (`""` is the top).
#[derive(Debug, Default)]
pub struct ObjectTree {
    pub objects: Vec<(String, u64)>,
    dirs: HashMap<String, Vec<(String, ObjEntry)>>,
}

impl ObjectTree {
    /// Builds the tree. Names with empty components (`a//b`, `/a`, `a/`) or a `.`/`..`
    /// component cannot be shown as paths and are left out (`skipped` counts them); when a
    /// name is both an object and a directory prefix the directory wins.
    pub fn build(mut objects: Vec<(String, u64)>) -> (ObjectTree, usize) {
        objects.sort();
        objects.dedup_by(|a, b| a.0 == b.0);
        let mut dirs: HashMap<String, Vec<(String, ObjEntry)>> = HashMap::new();
        dirs.insert(String::new(), Vec::new());
        let mut skipped = 0;
        let mut files: Vec<(String, String, usize)> = Vec::new();
        for (i, (name, _)) in objects.iter().enumerate() {
            let parts: Vec<&str> = name.split('/').collect();
            if parts
                .iter()
                .any(|p| p.is_empty() || *p == "." || *p == "..")
            {
                skipped += 1;
                continue;
            }
            let mut dir = String::new();
            for p in &parts[..parts.len() - 1] {
                let sub = if dir.is_empty() {
                    p.to_string()
                } else {
                    format!("{dir}/{p}")
                };
                if !dirs.contains_key(&sub) {
                    dirs.insert(sub.clone(), Vec::new());
                    if let Some(list) = dirs.get_mut(&dir) {
                        list.push((p.to_string(), ObjEntry::Dir(sub.clone())));
                    }
                }
                dir = sub;
            }
            files.push((dir, parts[parts.len() - 1].to_string(), i));
        }
        for (dir, leaf, i) in files {
            let full = if dir.is_empty() {
                leaf.clone()
            } else {
                format!("{dir}/{leaf}")
            };
            if dirs.contains_key(&full) {
                skipped += 1;
                continue;
            }
            if let Some(list) = dirs.get_mut(&dir) {
                list.push((leaf, ObjEntry::Object(i)));
            }
        }
        for list in dirs.values_mut() {
            list.sort_by(|a, b| a.0.cmp(&b.0));
        }
        (ObjectTree { objects, dirs }, skipped)
    }

    /// One directory holding every object, each named by its percent-encoded name
    /// (`1/2_3.sst` is `1%2F2_3.sst`, BRFS-7): a table's `files/`.
    pub fn build_flat(mut objects: Vec<(String, u64)>) -> ObjectTree {
        objects.sort();
        objects.dedup_by(|a, b| a.0 == b.0);
        let mut top: Vec<(String, ObjEntry)> = objects
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (super::names::encode_name(name, false), ObjEntry::Object(i)))
            .collect();
        top.sort_by(|a, b| a.0.cmp(&b.0));
        let mut dirs = HashMap::new();
        dirs.insert(String::new(), top);
        ObjectTree { objects, dirs }
    }

    /// The entries of the directory at `dir`, sorted by name.
    pub fn list(&self, dir: &str) -> &[(String, ObjEntry)] {
        self.dirs.get(dir).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn lookup(&self, dir: &str, name: &str) -> Option<&ObjEntry> {
        let list = self.dirs.get(dir)?;
        list.binary_search_by(|e| e.0.as_str().cmp(name))
            .ok()
            .map(|i| &list[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brfs_7_nested_names_become_directories() {
        let (t, skipped) = ObjectTree::build(vec![
            ("backupmeta".into(), 10),
            ("1/2_3_write.sst".into(), 5),
            ("1/2_3_default.sst".into(), 6),
            ("v1/backupmeta/0001.meta".into(), 7),
            ("bad//name".into(), 1),
            ("../up".into(), 1),
        ]);
        assert_eq!(skipped, 2);
        let top: Vec<&str> = t.list("").iter().map(|e| e.0.as_str()).collect();
        assert_eq!(top, ["1", "backupmeta", "v1"]);
        let one: Vec<&str> = t.list("1").iter().map(|e| e.0.as_str()).collect();
        assert_eq!(one, ["2_3_default.sst", "2_3_write.sst"]);
        assert_eq!(
            t.lookup("v1", "backupmeta"),
            Some(&ObjEntry::Dir("v1/backupmeta".into()))
        );
        let Some(ObjEntry::Object(i)) = t.lookup("v1/backupmeta", "0001.meta") else {
            panic!("missing object")
        };
        assert_eq!(t.objects[*i], ("v1/backupmeta/0001.meta".to_string(), 7));
        assert_eq!(t.lookup("", "nope"), None);
        assert!(t.list("nope").is_empty());
    }

    #[test]
    fn brfs_7_files_dir_is_flat_with_encoded_names() {
        let t = ObjectTree::build_flat(vec![
            ("1/2_3_write.sst".into(), 5),
            ("9_1_write.sst".into(), 6),
        ]);
        let top: Vec<&str> = t.list("").iter().map(|e| e.0.as_str()).collect();
        assert_eq!(top, ["1%2F2_3_write.sst", "9_1_write.sst"]);
        let Some(ObjEntry::Object(i)) = t.lookup("", "1%2F2_3_write.sst") else {
            panic!("missing")
        };
        assert_eq!(t.objects[*i], ("1/2_3_write.sst".to_string(), 5));
    }
}

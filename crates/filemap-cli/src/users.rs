//! User and group names from `/etc/passwd` and `/etc/group` (no NSS: good enough to label a
//! listing; numeric ids are shown when a name is not found).

use std::collections::HashMap;

/// uid -> user name.
pub struct Users(HashMap<u32, String>);

impl Users {
    /// Reads `/etc/passwd`; an unreadable file gives an empty table.
    pub fn load() -> Users {
        Users(
            parse_id_file(&std::fs::read_to_string("/etc/passwd").unwrap_or_default())
                .into_iter()
                .map(|(n, id)| (id, n))
                .collect(),
        )
    }

    /// The user's name, or the uid as text.
    pub fn name(&self, uid: u32) -> String {
        self.0.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

/// Resolves a user given by name.
pub fn user_id(user: &str) -> Option<u32> {
    parse_id_file(&std::fs::read_to_string("/etc/passwd").unwrap_or_default())
        .into_iter()
        .find(|(name, _)| name == user)
        .map(|(_, id)| id)
}

/// Resolves a group given by name or number.
pub fn group_id(group: &str) -> Option<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Some(gid);
    }
    parse_id_file(&std::fs::read_to_string("/etc/group").unwrap_or_default())
        .into_iter()
        .find(|(name, _)| name == group)
        .map(|(_, id)| id)
}

/// `name:x:id:...` lines -> (name, id).
fn parse_id_file(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _password = f.next()?;
            let id = f.next()?.parse().ok()?;
            Some((name.to_owned(), id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_lines_parse() {
        let parsed = parse_id_file("root:x:0:0:root:/root:/bin/bash\n# comment\nbroken\nadm:x:4:syslog\n");
        assert_eq!(parsed, vec![("root".to_owned(), 0), ("adm".to_owned(), 4)]);
    }

    #[test]
    fn numeric_groups_need_no_lookup() {
        assert_eq!(group_id("1234"), Some(1234));
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-hopefully"), None);
    }
}

//! User and group names through the system's user database (NSS: `/etc/passwd`, LDAP, sssd,
//! systemd-userdb, ...), by way of `nix`; numeric ids are shown when a name is not found.

use std::cell::RefCell;
use std::collections::HashMap;

use nix::unistd::{Group, Uid, User};

/// uid -> user name, looked up once per uid.
#[derive(Default)]
pub struct Users(RefCell<HashMap<u32, String>>);

impl Users {
    /// An empty cache.
    pub fn load() -> Users {
        Users::default()
    }

    /// The user's name, or the uid as text.
    pub fn name(&self, uid: u32) -> String {
        self.0
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| match User::from_uid(Uid::from_raw(uid)) {
                Ok(Some(user)) => user.name,
                _ => uid.to_string(),
            })
            .clone()
    }
}

/// Resolves a user given by name.
pub fn user_id(user: &str) -> Option<u32> {
    User::from_name(user).ok().flatten().map(|u| u.uid.as_raw())
}

/// Resolves a group given by name or number.
pub fn group_id(group: &str) -> Option<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Some(gid);
    }
    Group::from_name(group).ok().flatten().map(|g| g.gid.as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_resolve_through_the_user_database() {
        assert_eq!(user_id("root"), Some(0));
        assert_eq!(user_id("no-such-user-hopefully"), None);
        let users = Users::load();
        assert_eq!(users.name(0), "root");
        assert_eq!(users.name(4_000_000_000), "4000000000");
    }

    #[test]
    fn numeric_groups_need_no_lookup() {
        assert_eq!(group_id("1234"), Some(1234));
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(group_id("no-such-group-hopefully"), None);
    }
}

//! The `kube-system/aws-auth` ConfigMap: recognised here alone, and its embedded
//! `mapRoles`/`mapUsers` YAML parsed once per inventory ([`Inventory::aws_auth`]).

use crate::inventory::Inventory;
use crate::node::Node;
use crate::object::{Object, ObjectId};
use crate::yaml;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "aws-auth";

/// Whether the object is the aws-auth ConfigMap.
pub fn is_aws_auth(obj: &Object) -> bool {
    &*obj.kind == "ConfigMap" && &*obj.name == NAME && obj.ns() == Some(NAMESPACE)
}

/// One aws-auth ConfigMap with its mapping lists parsed (positions in the outer file).
#[derive(Debug)]
pub struct AwsAuth {
    pub object: ObjectId,
    /// `data.mapRoles` parsed; `None` when absent or not YAML.
    pub map_roles: Option<Node>,
    /// `data.mapUsers` parsed; `None` when absent or not YAML.
    pub map_users: Option<Node>,
}

impl AwsAuth {
    fn read(obj: &Object) -> AwsAuth {
        let parse = |key: &str| {
            let raw = obj.root.get("data")?.get(key)?;
            yaml::parse_embedded(raw)?.ok()
        };
        AwsAuth {
            object: obj.id,
            map_roles: parse("mapRoles"),
            map_users: parse("mapUsers"),
        }
    }

    /// The parsed list under `data.<key>` (`mapRoles` or `mapUsers`).
    pub fn map(&self, key: &str) -> Option<&Node> {
        match key {
            "mapRoles" => self.map_roles.as_ref(),
            "mapUsers" => self.map_users.as_ref(),
            _ => None,
        }
    }
}

/// The inventory's parsed aws-auth ConfigMaps, filled on first use.
#[derive(Debug, Default)]
pub struct Cache(pub(crate) std::sync::OnceLock<Vec<AwsAuth>>);

/// Every aws-auth ConfigMap of the inventory, in object order.
pub(crate) fn read_all(inv: &Inventory) -> Vec<AwsAuth> {
    inv.objects
        .iter()
        .filter(|o| is_aws_auth(o))
        .map(|o| AwsAuth::read(o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::Source;
    use crate::yaml::{parse_documents, ParseLimits};
    use std::sync::Arc;

    fn inventory(text: &str) -> Inventory {
        let mut inv = Inventory::default();
        for d in parse_documents(text, true, ParseLimits::default()) {
            let d = d.unwrap();
            let src = Source::File {
                path: Arc::from("cm.yaml"),
                doc: d.index,
                item: None,
            };
            inv.push(Object::from_node(d.root, src, "default").unwrap());
        }
        inv
    }

    #[test]
    fn parsed_once_and_refreshed_after_a_push() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::1:role/a\n      groups: [system:masters]\n  mapUsers: 'not: [yaml'\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: default\n";
        let mut inv = inventory(text);
        let all = inv.aws_auth();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].object, ObjectId(0));
        let roles = all[0].map("mapRoles").unwrap();
        assert_eq!(roles.items().len(), 1);
        assert_eq!(roles.items()[0].get("rolearn").unwrap().pos.line, 8);
        assert!(all[0].map_users.is_none());
        assert!(std::ptr::eq(inv.aws_auth(), inv.aws_auth()));
        let more = inventory("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\n");
        inv.extend(more);
        assert_eq!(inv.aws_auth().len(), 2);
    }

    /// At admission the old object is judged, taken off, and the new one pushed under
    /// the same id: the view must be the new object's, or an added mapping would pass.
    #[test]
    fn a_popped_object_takes_its_view_with_it() {
        let cm = |role: &str| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::1:role/{role}\n      groups: [system:masters]\n")
        };
        let mut inv = Inventory::default();
        let old = inventory(&cm("old")).objects.remove(0);
        let new = inventory(&cm("new")).objects.remove(0);
        inv.push(Arc::unwrap_or_clone(old));
        let rolearn = |inv: &Inventory| {
            inv.aws_auth()[0].map("mapRoles").unwrap().items()[0]
                .get("rolearn")
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(rolearn(&inv), "arn:aws:iam::1:role/old");
        inv.pop();
        inv.push(Arc::unwrap_or_clone(new));
        assert_eq!(rolearn(&inv), "arn:aws:iam::1:role/new");
    }
}

//! DATA — secrets and storage encryption.

pub(crate) mod credentials_in_configmap;
mod credentials_in_environment;
mod efs_volume_without_access_point;
mod efs_without_transit_encryption;
mod secret_in_environment;
mod secrets_envelope_encryption_disabled;
mod unencrypted_storage_class;

mod efs_file_system_unencrypted;
mod external_secret_store_static_credentials;
mod kms;
mod kms_key_rotation_disabled;
mod kms_key_unusable;

pub use credentials_in_configmap::CredentialsInConfigmap;
pub use credentials_in_environment::CredentialsInEnvironment;
pub use efs_volume_without_access_point::EfsVolumeWithoutAccessPoint;
pub use efs_without_transit_encryption::EfsWithoutTransitEncryption;
pub use secret_in_environment::SecretInEnvironment;
pub use secrets_envelope_encryption_disabled::SecretsEnvelopeEncryptionDisabled;
pub use unencrypted_storage_class::UnencryptedStorageClass;

pub use efs_file_system_unencrypted::EfsFileSystemUnencrypted;
pub use external_secret_store_static_credentials::ExternalSecretStoreStaticCredentials;
pub use kms_key_rotation_disabled::KmsKeyRotationDisabled;
pub use kms_key_unusable::KmsKeyUnusable;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &SecretsEnvelopeEncryptionDisabled,
    &SecretInEnvironment,
    &UnencryptedStorageClass,
    &CredentialsInConfigmap,
    &EfsWithoutTransitEncryption,
    &CredentialsInEnvironment,
    &EfsFileSystemUnencrypted,
    &KmsKeyRotationDisabled,
    &KmsKeyUnusable,
    &EfsVolumeWithoutAccessPoint,
    &ExternalSecretStoreStaticCredentials,
];

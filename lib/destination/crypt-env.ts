// Kept apart from encryption.ts so that the CLI's flag definitions can name it
// without loading the Kubernetes client at startup.
export const PASSWORD_ENV = 'DATAMOVER_CRYPT_PASSWORD';

export { createStorage, type Storage, type StorageOptions } from './client'
export { MIGRATIONS, type Migration, migrate } from './migrations'
export { type CreatedKey, generateApiKey, hashApiKey, type Project, ProjectRepository } from './projects'

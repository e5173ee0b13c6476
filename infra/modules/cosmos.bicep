// Cosmos DB for NoSQL, serverless: the job store. Entra ID only (local/key auth disabled); the app's data-plane
// role is a SQL role assignment in rbac.bicep.

@description('Required. Name of the account.')
param name string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for the account.')
param tags object = {}

@description('Required. Database name (COSMOS_DATABASE).')
param databaseName string

@description('Required. Container names: jobs (COSMOS_CONTAINER) and sessions (COSMOS_SESSIONS_CONTAINER).')
param containerNames array

@description('Required. Partition key path of every container (shared.adapters.cosmos_jobs.PARTITION_KEY_PATH).')
param partitionKeyPath string

@description('Optional. Spread replicas across availability zones. Fixed when the account is created.')
param zoneRedundant bool = false

@description('Optional. Periodic backup (every 4 h, two kept) or continuous point-in-time restore for 7 or 30 days.')
@allowed([
  'Periodic'
  'Continuous7Days'
  'Continuous30Days'
])
param backup string = 'Periodic'

// What each container indexes (opt-in: only the paths the job and session stores filter and order on) and one
// composite index per list order the stores' queries use (shared/adapters/cosmos_documents.py, `page`):
// (workspace, [field,] creationStamp, id), each also serving the fully reversed (descending) order.
var indexingPolicy = loadJsonContent('cosmos-indexing.json')

var periodicBackup = {
  type: 'Periodic'
  periodicModeProperties: {
    backupIntervalInMinutes: 240
    backupRetentionIntervalInHours: 8
    backupStorageRedundancy: zoneRedundant ? 'Zone' : 'Local'
  }
}
var continuousBackup = {
  type: 'Continuous'
  continuousModeProperties: {
    tier: backup
  }
}

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: zoneRedundant
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    backupPolicy: (backup == 'Periodic') ? periodicBackup : continuousBackup
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for containerName in containerNames: {
    parent: database
    name: containerName
    properties: {
      resource: {
        id: containerName
        partitionKey: {
          paths: [
            partitionKeyPath
          ]
          kind: 'Hash'
        }
        indexingPolicy: indexingPolicy
      }
    }
  }
]

output name string = account.name
output endpoint string = account.properties.documentEndpoint

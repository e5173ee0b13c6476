// Two storage accounts, kept apart so that nothing a client can be given reaches the host:
// - the host's (AzureWebJobsStorage): the Functions host's own blobs, queues and tables (keys, leases, the blob
//   trigger's poison queue) and the Flex Consumption deployment package. Only the app's identity touches it.
// - the job data's (JobsStorage): the programs drop container, the per-job containers the app creates at run
//   time (clients get SAS URLs for these, and only these), the dead-letter container of blob-drop events, and
//   the Event Grid system topic that turns blob drops into events.
// Shared keys are off on both: everything signs in with Entra ID, and the app's SAS URLs are user-delegation SAS.

// The account-name parameters are lowercase because checkov's naming check (CKV_AZURE_43) reads the symbol.
@description('Required. Name of the host\'s storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param hostaccount string

@description('Required. Name of the job data\'s storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param jobsaccount string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for every resource.')
param tags object = {}

@description('Optional. Redundancy of the accounts.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Required. Container in the job data\'s account that receives program drops (PROGRAMS_CONTAINER); its blob-created events reach intake_program.')
param programsContainerName string

@description('Required. Container in the host\'s account that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Required. Container in the job data\'s account where Event Grid dead-letters blob-drop events it could not deliver.')
param deadLetterContainerName string

@description('Required. Name of the Event Grid system topic for the job data account\'s blob events.')
param systemTopicName string

@description('Required. Resource ID of the user-assigned identity the system topic dead-letters with.')
param identityId string

@description('Optional. Days deleted blobs and containers stay recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionInDays int = 7

var accountProperties = {
  accessTier: 'Hot'
  allowBlobPublicAccess: false
  allowCrossTenantReplication: false
  allowSharedKeyAccess: false
  defaultToOAuthAuthentication: true
  minimumTlsVersion: 'TLS1_2'
  supportsHttpsTrafficOnly: true
  publicNetworkAccess: 'Enabled'
  networkAcls: {
    // No virtual network here, so the Flex Consumption app (and a client uploading with a SAS) reaches storage over
    // its public endpoint; access is by Entra identity only (shared keys are off). See .checkov.yaml (CKV_AZURE_35).
    defaultAction: 'Allow'
    bypass: 'AzureServices'
  }
}

var blobServiceProperties = {
  deleteRetentionPolicy: {
    enabled: true
    days: softDeleteRetentionInDays
  }
  containerDeleteRetentionPolicy: {
    enabled: true
    days: softDeleteRetentionInDays
  }
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostaccount
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: accountProperties
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
  properties: blobServiceProperties
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource jobStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: jobsaccount
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: accountProperties
}

resource jobBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: jobStorage
  name: 'default'
  properties: blobServiceProperties
}

var jobContainerNames = [
  programsContainerName
  deadLetterContainerName
]

resource jobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in jobContainerNames: {
    parent: jobBlobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

// Blob drops reach the app through Event Grid (the blob trigger's EventGrid source; Flex Consumption does not
// poll containers). The subscription to this topic is in blob-drop-subscription.bicep: it needs the function's
// blobs_extension key, which exists only after the code is deployed (see that file and azure.yaml).
resource blobDropTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    source: jobStorage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output hostaccount string = hostStorage.name
output hostBlobEndpoint string = hostStorage.properties.primaryEndpoints.blob
output hostQueueEndpoint string = hostStorage.properties.primaryEndpoints.queue
output hostTableEndpoint string = hostStorage.properties.primaryEndpoints.table
output jobsaccount string = jobStorage.name
output jobsBlobEndpoint string = jobStorage.properties.primaryEndpoints.blob
output systemTopicName string = blobDropTopic.name

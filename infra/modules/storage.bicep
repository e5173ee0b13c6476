// The storage account: the Functions host's storage (AzureWebJobsStorage), the Flex Consumption deployment
// package, the programs drop container, per-job containers the app creates at run time, and the Event Grid
// system topic that turns blob drops into events. Shared keys are off: everything signs in with Entra ID, and
// the app's SAS URLs are user-delegation SAS.

@description('Required. Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for every resource.')
param tags object = {}

@description('Optional. Redundancy of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Required. Container that receives program drops (PROGRAMS_CONTAINER); its blob-created events reach intake_program.')
param programsContainerName string

@description('Required. Container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Required. Container where Event Grid dead-letters blob-drop events it could not deliver.')
param deadLetterContainerName string

@description('Required. Name of the Event Grid system topic for the account\'s blob events.')
param systemTopicName string

@description('Required. Resource ID of the user-assigned identity the system topic dead-letters with.')
param identityId string

@description('Optional. Days deleted blobs and containers stay recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionInDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // No virtual network here, so the Flex Consumption app reaches storage over its public endpoint;
      // access is by Entra identity only (shared keys are off). See .checkov.yaml (CKV_AZURE_35).
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionInDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionInDays
    }
  }
}

var containerNames = [
  programsContainerName
  deploymentContainerName
  deadLetterContainerName
]

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
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
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output systemTopicName string = blobDropTopic.name

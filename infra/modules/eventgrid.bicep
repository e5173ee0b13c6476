// The Event Grid custom topic for job events: the app publishes CloudEvents 1.0 (shared/adapters/
// eventgrid_publisher.py) with its identity; access keys are disabled. Subscribers add their own subscriptions.

@description('Required. Name of the topic.')
param name string

@description('Required. Azure region.')
param location string

@description('Optional. Tags for the topic.')
param tags object = {}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

output name string = topic.name
output endpoint string = topic.properties.endpoint

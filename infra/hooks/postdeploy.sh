#!/bin/sh
# azd postdeploy hook: subscribe intake_program to blob drops (infra/modules/blob-drop-subscription.bicep).
#
# It runs after the code is deployed because the subscription's webhook needs the app's blobs_extension key
# and Event Grid validates the webhook against the running intake_program. The module reads the key inside
# the deployment; it never reaches this script. Idempotent: every `azd deploy` re-applies it.
# Needs the Azure CLI signed in (`az login`) with access to the azd environment's subscription.
set -eu

: "${AZURE_RESOURCE_GROUP:?not set: run azd provision first}"

attempt=1
until az deployment group create \
  --subscription "$AZURE_SUBSCRIPTION_ID" \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --name blob-drop-subscription \
  --template-file infra/modules/blob-drop-subscription.bicep \
  --parameters \
    functionAppName="$AZURE_FUNCTION_APP_NAME" \
    systemTopicName="$BLOB_DROP_SYSTEM_TOPIC" \
    programsContainerName="$PROGRAMS_CONTAINER" \
    storageAccountName="$JOBS_STORAGE_ACCOUNT_NAME" \
    deadLetterContainerName="$BLOB_DROP_DEADLETTER_CONTAINER" \
    identityName="$AZURE_IDENTITY_NAME" \
  --output none
do
  # A host that is still starting after the deployment fails Event Grid's endpoint validation: wait, retry.
  if [ "$attempt" -ge 5 ]; then
    echo "postdeploy: the blob-drop subscription failed $attempt times; see the deployment error above" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  echo "postdeploy: retrying the blob-drop subscription in 30 s (attempt $attempt of 5)"
  sleep 30
done
echo "postdeploy: blob drops in '$PROGRAMS_CONTAINER' go to intake_program"

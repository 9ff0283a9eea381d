-- CreateEnum
CREATE TYPE "NodeKind" AS ENUM ('ORGANIZATION', 'FOLDER', 'PROJECT', 'IAP_WEB', 'IAP_WEB_TYPE', 'WEB_BACKEND_SERVICE', 'APPENGINE_SERVICE', 'APPENGINE_VERSION', 'CLOUD_RUN_SERVICE', 'RUN_SERVICE', 'FUNCTION', 'IAP_TUNNEL', 'TUNNEL_INSTANCE');

-- CreateEnum
CREATE TYPE "PrincipalKind" AS ENUM ('USER', 'SERVICE_ACCOUNT');

-- CreateEnum
CREATE TYPE "RoleStage" AS ENUM ('ALPHA', 'BETA', 'GA', 'DEPRECATED', 'DISABLED', 'EAP');

-- CreateEnum
CREATE TYPE "SigningKeyState" AS ENUM ('NEXT', 'ACTIVE', 'RETIRED');

-- CreateTable
CREATE TABLE "PolicyRevision" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "value" BIGINT NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PolicyRevision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Node" (
    "name" TEXT NOT NULL,
    "kind" "NodeKind" NOT NULL,
    "parentName" TEXT,
    "displayName" TEXT NOT NULL DEFAULT '',
    "implicit" BOOLEAN NOT NULL DEFAULT false,
    "shortId" TEXT,
    "projectNumber" TEXT,
    "domain" TEXT,
    "iapEnabled" BOOLEAN,
    "hosts" TEXT[],
    "pathPrefix" TEXT,
    "audience" TEXT,
    "oauthClientId" TEXT,
    "oauthClientSecret" TEXT,
    "iapSettings" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Node_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "Principal" (
    "id" TEXT NOT NULL,
    "kind" "PrincipalKind" NOT NULL,
    "email" TEXT NOT NULL,
    "displayName" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "projectName" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Principal_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServiceAccountKey" (
    "id" TEXT NOT NULL,
    "principalId" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL DEFAULT 'RS256',
    "publicJwk" JSONB NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "validAfter" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "validBefore" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ServiceAccountKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Group" (
    "email" TEXT NOT NULL,
    "displayName" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Group_pkey" PRIMARY KEY ("email")
);

-- CreateTable
CREATE TABLE "GroupMember" (
    "groupEmail" TEXT NOT NULL,
    "member" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "GroupMember_pkey" PRIMARY KEY ("groupEmail","member")
);

-- CreateTable
CREATE TABLE "Role" (
    "name" TEXT NOT NULL,
    "parentName" TEXT NOT NULL,
    "title" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "stage" "RoleStage" NOT NULL DEFAULT 'GA',
    "permissions" TEXT[],
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "etag" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Role_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "AllowPolicy" (
    "resourceName" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "etag" TEXT NOT NULL,
    "revision" BIGINT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AllowPolicy_pkey" PRIMARY KEY ("resourceName")
);

-- CreateTable
CREATE TABLE "Binding" (
    "id" TEXT NOT NULL,
    "policyResourceName" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "conditionTitle" TEXT,
    "conditionDescription" TEXT,
    "conditionExpression" TEXT,

    CONSTRAINT "Binding_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BindingMember" (
    "bindingId" TEXT NOT NULL,
    "member" TEXT NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "BindingMember_pkey" PRIMARY KEY ("bindingId","member")
);

-- CreateTable
CREATE TABLE "DenyPolicy" (
    "name" TEXT NOT NULL,
    "attachedTo" TEXT NOT NULL,
    "policyId" TEXT NOT NULL,
    "displayName" TEXT NOT NULL DEFAULT '',
    "etag" TEXT NOT NULL,
    "revision" BIGINT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DenyPolicy_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "DenyRule" (
    "id" TEXT NOT NULL,
    "policyName" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "deniedPrincipals" TEXT[],
    "exceptionPrincipals" TEXT[],
    "deniedPermissions" TEXT[],
    "exceptionPermissions" TEXT[],
    "conditionTitle" TEXT,
    "conditionExpression" TEXT,

    CONSTRAINT "DenyRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccessLevel" (
    "name" TEXT NOT NULL,
    "title" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "basic" JSONB,
    "customExpression" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AccessLevel_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "TrustedIssuer" (
    "issuer" TEXT NOT NULL,
    "audiences" TEXT[],
    "jwksUri" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "TrustedIssuer_pkey" PRIMARY KEY ("issuer")
);

-- CreateTable
CREATE TABLE "ProxyCredential" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "trusted" BOOLEAN NOT NULL DEFAULT false,
    "scopes" TEXT[],
    "createdBy" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ProxyCredential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SigningKey" (
    "kid" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL DEFAULT 'ES256',
    "state" "SigningKeyState" NOT NULL,
    "publicJwk" JSONB NOT NULL,
    "privateJwk" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activatedAt" TIMESTAMP(3),
    "retiredAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),

    CONSTRAINT "SigningKey_pkey" PRIMARY KEY ("kid")
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Setting_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "AuditChainHead" (
    "stream" TEXT NOT NULL,
    "lastSeq" BIGINT NOT NULL DEFAULT 0,
    "lastHash" TEXT NOT NULL DEFAULT '',

    CONSTRAINT "AuditChainHead_pkey" PRIMARY KEY ("stream")
);

-- CreateTable
CREATE TABLE "AdminActivityLog" (
    "seq" BIGSERIAL NOT NULL,
    "insertId" TEXT NOT NULL,
    "timestamp" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "methodName" TEXT NOT NULL,
    "serviceName" TEXT NOT NULL,
    "resourceName" TEXT NOT NULL,
    "bindingDeltas" JSONB,
    "request" JSONB,
    "response" JSONB,
    "callerIp" TEXT,
    "userAgent" TEXT,
    "status" JSONB,
    "revision" BIGINT,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "AdminActivityLog_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "DataAccessLog" (
    "seq" BIGSERIAL NOT NULL,
    "decisionId" TEXT NOT NULL,
    "timestamp" TIMESTAMP(3) NOT NULL,
    "principal" TEXT,
    "resourceName" TEXT NOT NULL,
    "permission" TEXT NOT NULL,
    "granted" BOOLEAN NOT NULL,
    "reason" TEXT NOT NULL,
    "callerIp" TEXT,
    "host" TEXT,
    "path" TEXT,
    "method" TEXT,
    "accessLevels" TEXT[],
    "unsatisfiedLevels" TEXT[],
    "decidedBy" JSONB,
    "revision" BIGINT NOT NULL,
    "latencyUs" INTEGER NOT NULL,
    "proxyCredentialId" TEXT,
    "status" JSONB,
    "prevHash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "DataAccessLog_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "email" TEXT NOT NULL,
    "emailVerified" TIMESTAMP(3),
    "image" TEXT,
    "passwordHash" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Account" (
    "userId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "providerAccountId" TEXT NOT NULL,
    "refresh_token" TEXT,
    "access_token" TEXT,
    "expires_at" INTEGER,
    "token_type" TEXT,
    "scope" TEXT,
    "id_token" TEXT,
    "session_state" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("provider","providerAccountId")
);

-- CreateTable
CREATE TABLE "Session" (
    "sessionToken" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "expires" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL
);

-- CreateTable
CREATE TABLE "VerificationToken" (
    "identifier" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "expires" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "VerificationToken_pkey" PRIMARY KEY ("identifier","token")
);

-- CreateIndex
CREATE UNIQUE INDEX "Node_projectNumber_key" ON "Node"("projectNumber");

-- CreateIndex
CREATE INDEX "Node_parentName_idx" ON "Node"("parentName");

-- CreateIndex
CREATE INDEX "Node_kind_idx" ON "Node"("kind");

-- CreateIndex
CREATE INDEX "Node_hosts_idx" ON "Node" USING GIN ("hosts");

-- CreateIndex
CREATE UNIQUE INDEX "Principal_email_key" ON "Principal"("email");

-- CreateIndex
CREATE INDEX "Principal_kind_idx" ON "Principal"("kind");

-- CreateIndex
CREATE INDEX "Principal_projectName_idx" ON "Principal"("projectName");

-- CreateIndex
CREATE INDEX "ServiceAccountKey_principalId_idx" ON "ServiceAccountKey"("principalId");

-- CreateIndex
CREATE INDEX "GroupMember_member_idx" ON "GroupMember"("member");

-- CreateIndex
CREATE INDEX "Role_parentName_idx" ON "Role"("parentName");

-- CreateIndex
CREATE INDEX "Binding_role_idx" ON "Binding"("role");

-- CreateIndex
CREATE UNIQUE INDEX "Binding_policyResourceName_position_key" ON "Binding"("policyResourceName", "position");

-- CreateIndex
CREATE INDEX "BindingMember_member_idx" ON "BindingMember"("member");

-- CreateIndex
CREATE UNIQUE INDEX "DenyPolicy_attachedTo_policyId_key" ON "DenyPolicy"("attachedTo", "policyId");

-- CreateIndex
CREATE UNIQUE INDEX "DenyRule_policyName_position_key" ON "DenyRule"("policyName", "position");

-- CreateIndex
CREATE UNIQUE INDEX "ProxyCredential_name_key" ON "ProxyCredential"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ProxyCredential_secretHash_key" ON "ProxyCredential"("secretHash");

-- CreateIndex
CREATE INDEX "SigningKey_state_idx" ON "SigningKey"("state");

-- CreateIndex
CREATE UNIQUE INDEX "AdminActivityLog_insertId_key" ON "AdminActivityLog"("insertId");

-- CreateIndex
CREATE INDEX "AdminActivityLog_timestamp_idx" ON "AdminActivityLog"("timestamp");

-- CreateIndex
CREATE INDEX "AdminActivityLog_resourceName_timestamp_idx" ON "AdminActivityLog"("resourceName", "timestamp");

-- CreateIndex
CREATE INDEX "AdminActivityLog_actor_timestamp_idx" ON "AdminActivityLog"("actor", "timestamp");

-- CreateIndex
CREATE INDEX "AdminActivityLog_methodName_timestamp_idx" ON "AdminActivityLog"("methodName", "timestamp");

-- CreateIndex
CREATE UNIQUE INDEX "DataAccessLog_decisionId_key" ON "DataAccessLog"("decisionId");

-- CreateIndex
CREATE INDEX "DataAccessLog_timestamp_idx" ON "DataAccessLog"("timestamp");

-- CreateIndex
CREATE INDEX "DataAccessLog_principal_timestamp_idx" ON "DataAccessLog"("principal", "timestamp");

-- CreateIndex
CREATE INDEX "DataAccessLog_resourceName_timestamp_idx" ON "DataAccessLog"("resourceName", "timestamp");

-- CreateIndex
CREATE INDEX "DataAccessLog_granted_timestamp_idx" ON "DataAccessLog"("granted", "timestamp");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE INDEX "Account_userId_idx" ON "Account"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Session_sessionToken_key" ON "Session"("sessionToken");

-- CreateIndex
CREATE INDEX "Session_userId_idx" ON "Session"("userId");

-- AddForeignKey
ALTER TABLE "Node" ADD CONSTRAINT "Node_parentName_fkey" FOREIGN KEY ("parentName") REFERENCES "Node"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Principal" ADD CONSTRAINT "Principal_projectName_fkey" FOREIGN KEY ("projectName") REFERENCES "Node"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ServiceAccountKey" ADD CONSTRAINT "ServiceAccountKey_principalId_fkey" FOREIGN KEY ("principalId") REFERENCES "Principal"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GroupMember" ADD CONSTRAINT "GroupMember_groupEmail_fkey" FOREIGN KEY ("groupEmail") REFERENCES "Group"("email") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Role" ADD CONSTRAINT "Role_parentName_fkey" FOREIGN KEY ("parentName") REFERENCES "Node"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AllowPolicy" ADD CONSTRAINT "AllowPolicy_resourceName_fkey" FOREIGN KEY ("resourceName") REFERENCES "Node"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Binding" ADD CONSTRAINT "Binding_policyResourceName_fkey" FOREIGN KEY ("policyResourceName") REFERENCES "AllowPolicy"("resourceName") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BindingMember" ADD CONSTRAINT "BindingMember_bindingId_fkey" FOREIGN KEY ("bindingId") REFERENCES "Binding"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DenyPolicy" ADD CONSTRAINT "DenyPolicy_attachedTo_fkey" FOREIGN KEY ("attachedTo") REFERENCES "Node"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DenyRule" ADD CONSTRAINT "DenyRule_policyName_fkey" FOREIGN KEY ("policyName") REFERENCES "DenyPolicy"("name") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Account" ADD CONSTRAINT "Account_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

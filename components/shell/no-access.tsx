import { Code, EmptyState } from "@/components/ui";

/** Shown in place of a console page to a signed-in user who holds no role that grants console access. */
export function NoAccess({ email }: { email: string }) {
  return (
    <EmptyState
      icon="lock"
      title="You don't have access to this console yet"
      description={
        <>
          You are signed in as <strong>{email}</strong>, but no role lets you view any project. Ask an
          administrator to grant you a role such as Viewer (<Code>roles/viewer</Code>) or IAP Policy
          Admin (<Code>roles/iap.admin</Code>) on a project, folder or organization.
        </>
      }
    />
  );
}

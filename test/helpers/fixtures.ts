// A directory with two tenants, their users and access policies, used across the tests.
export const CONTOSO = '7d1e2a3b-1111-4c2d-9e8f-000000000001';
export const FABRIKAM = '7d1e2a3b-2222-4c2d-9e8f-000000000002';

export const ALICE = { tenantId: CONTOSO, id: 'a11ce000-0000-4000-8000-000000000001', upn: 'alice@contoso.example', name: 'Alice Adams' };
export const BOB = { tenantId: CONTOSO, id: 'b0b00000-0000-4000-8000-000000000002', upn: 'bob@contoso.example', name: 'Bob Brown' };
export const CAROL = { tenantId: CONTOSO, id: 'ca201000-0000-4000-8000-000000000003', upn: 'carol@contoso.example', name: 'Carol Chen' };
export const FRANK = { tenantId: FABRIKAM, id: 'f2a4c000-0000-4000-8000-000000000004', upn: 'frank@fabrikam.example', name: 'Frank Fisher' };

/** Granted for Alice only (user-scoped policy). */
export const BOOKING_APP = { tenantId: CONTOSO, appId: 'b00c1420-0000-4000-8000-00000000a001' };
/** Granted tenant-wide in Contoso (global policy); Alice has her own policy, so it does not cover her. */
export const CRM_APP = { tenantId: CONTOSO, appId: 'c2a00000-0000-4000-8000-00000000a002' };
/** No policy anywhere. */
export const ROGUE_APP = { tenantId: CONTOSO, appId: '20900000-0000-4000-8000-00000000a003' };
/** Granted tenant-wide in Fabrikam. */
export const FABRIKAM_APP = { tenantId: FABRIKAM, appId: 'fab00000-0000-4000-8000-00000000a004' };

export const DIRECTORY = {
  tenants: [
    {
      id: CONTOSO,
      displayName: 'Contoso',
      users: [ALICE, BOB, CAROL].map((u) => ({ id: u.id, userPrincipalName: u.upn, displayName: u.name })),
      applicationAccessPolicies: [
        { appId: BOOKING_APP.appId, users: [ALICE.id] },
        { appId: CRM_APP.appId, scope: 'global' },
      ],
    },
    {
      id: FABRIKAM,
      displayName: 'Fabrikam',
      users: [{ id: FRANK.id, userPrincipalName: FRANK.upn, displayName: FRANK.name }],
      applicationAccessPolicies: [{ appId: FABRIKAM_APP.appId, scope: 'global' }],
    },
  ],
};

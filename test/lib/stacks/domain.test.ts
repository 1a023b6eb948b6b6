import { synthStack } from '../../support/stack';

const domain = { name: 'app.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };

describe('domain: a DNS-validated certificate and alias records', () => {
  const { template } = synthStack({ certificateArn: '', domain });
  const lbId = Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0];

  test('requests an ACM certificate for the name, validated by DNS in the given hosted zone', () => {
    template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
    template.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: domain.name,
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: domain.name, HostedZoneId: domain.hostedZoneId }],
    });
  });

  test('the HTTPS listener serves that certificate', () => {
    const certificateId = Object.keys(template.findResources('AWS::CertificateManager::Certificate'))[0];
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTPS', Certificates: [{ CertificateArn: { Ref: certificateId } }] });
  });

  test('A and AAAA alias records point the name at the dual-stack load balancer', () => {
    const records = Object.values(template.findResources('AWS::Route53::RecordSet')) as { Properties: { Type: string; Name: string; HostedZoneId: string; AliasTarget: unknown } }[];
    expect(records.map((r) => r.Properties.Type).sort()).toEqual(['A', 'AAAA']);
    for (const record of records) {
      expect(record.Properties).toMatchObject({ Name: `${domain.name}.`, HostedZoneId: domain.hostedZoneId });
      expect(record.Properties.AliasTarget).toEqual({
        DNSName: { 'Fn::Join': ['', ['dualstack.', { 'Fn::GetAtt': [lbId, 'DNSName'] }]] },
        HostedZoneId: { 'Fn::GetAtt': [lbId, 'CanonicalHostedZoneID'] },
      });
    }
  });

  test('the hosted zone is referenced, never created or looked up, and the URL is an output', () => {
    template.resourceCountIs('AWS::Route53::HostedZone', 0);
    expect(template.findOutputs('ServiceUrl')).toEqual({ ServiceUrl: { Value: 'https://app.example.com/' } });
  });
});

describe('certificateArn instead of a domain', () => {
  const { template, config } = synthStack();

  test('uses the given certificate and creates no certificate or DNS records', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTPS', Certificates: [{ CertificateArn: config.certificateArn }] });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    expect(template.findOutputs('ServiceUrl')).toEqual({});
  });
});

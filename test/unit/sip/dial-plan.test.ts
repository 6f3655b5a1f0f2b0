import { expect } from 'chai';
import { matchRoute, requestUser } from '../../../lib/sip/dial-plan.js';

describe('dial plan', () => {
  const routes = [
    { prefix: '', sipTarget: 'sip:default@10.0.0.1' },
    { prefix: '9', sipTarget: 'sip:${user}@h323.example' },
    { prefix: '91', sipTarget: 'sip:${user}@council.example' },
  ];
  it('takes the longest matching prefix', () => {
    expect(matchRoute(routes, '9123')?.target).to.equal('sip:9123@council.example');
    expect(matchRoute(routes, '9000')?.target).to.equal('sip:9000@h323.example');
    expect(matchRoute(routes, 'alice')?.target).to.equal('sip:default@10.0.0.1');
  });
  it('has no route when nothing matches', () => {
    expect(matchRoute(routes.slice(1), 'alice')).to.equal(undefined);
  });
  it('never substitutes an unsafe user into the target URI', () => {
    expect(matchRoute(routes, '9>;x=<y')?.target).to.equal('sip:@h323.example');
  });
  it('extracts the Request-URI user', () => {
    expect(requestUser('sip:9123@gw.example;transport=tcp')).to.equal('9123');
    expect(requestUser('sips:%2B441234@gw')).to.equal('+441234');
    expect(requestUser('tel:+1555;phone-context=x')).to.equal('+1555');
    expect(requestUser('sip:gw.example')).to.equal('');
  });
});

import { expect } from 'chai';
import Srf from 'drachtio-srf';
describe('smoke', () => {
  it('loads drachtio-srf', () => {
    expect(typeof Srf).to.equal('function');
  });
});

"""The calibrated parameters go on-chain as they are: deploy the engine from `risk calibrate`'s deploy config."""

from __future__ import annotations

from pymargin.chain import tx
from pymargin.chain.deploy import deploy_from_config
from pymargin.risk import calibration, data
from pymargin.risk.margin_call import to_wad


def test_deploy_config_puts_the_calibrated_params_on_chain(chain, artifacts, tmp_path):
    series = [data.load_market("btc"), data.load_market("eth")]
    cals = [calibration.calibrate_market(s, i, daily_funding=data.load_funding_daily(s.name)[1]) for i, s in enumerate(series)]
    prices = {s.name: to_wad(float(s.close[-1])) for s in series}
    config = calibration.deploy_config(cals, prices, chain.chain_id)
    result = deploy_from_config(chain, tx.node_signer(chain), config, deployments_dir=tmp_path)
    engine = result.contracts["Engine"]
    assert engine.call("marketCount") == 2
    for i, cal in enumerate(cals):
        on_chain = engine.call("marketParams", i)
        assert tuple(on_chain) == tuple(getattr(cal.params, f) for f in calibration.RISK_PARAM_FIELDS)
        price, _, imf, mmf = engine.call("marketView", i)
        assert (price, imf, mmf) == (prices[cal.params.name], cal.params.imf_wad, cal.params.mmf_wad)

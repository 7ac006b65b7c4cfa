"""Polymarket order side V2: POLY_1271 orders, GTD expiry, relayer SAFE/PROXY and on-chain EOA redemption."""

from __future__ import annotations

import asyncio
import time

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from seqkern.sim.polymarket import PolymarketSim
from seqkern.venues.base import (
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    VenueEndpoints,
    VenueRejected,
)
from seqkern.venues.polymarket.execution import (
    CTF_COLLATERAL_ADAPTER,
    NEG_RISK_CTF_COLLATERAL_ADAPTER,
    OrderExpiryError,
    PolymarketTransport,
    RedemptionRejected,
    RelayerAuth,
    check_expiration,
    decode_proxy_calldata,
    decode_redeem_calldata,
    proxy_calldata,
    redeem_calldata,
)
from seqkern.venues.polymarket.signing import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    ORDER_TYPE_V2,
    PROXY_FACTORY,
    RELAY_HUB,
    Eip1559Tx,
    OrderV2,
    PolySigner,
    derive_proxy,
    derive_safe,
    exchange_domain_separator,
    poly1271_digest,
    proxy_relay_hash,
    recover_poly1271,
    recover_safe_signature,
    rlp_decode,
    rlp_encode,
    safe_tx_digest,
)
from seqkern.venues.polymarket.venue import PolymarketVenue, market_from_gamma
from tests.pred.rig import until

KEY = "0x" + "5a" * 32
OTHER = "0x" + "6b" * 32
SLUG = "btc-above-99000-on-december-31-2026"
# publicly known dev-chain key used by Polymarket's SDK tests (address 0xf39F...2266)
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
WALLET = "0x1111111111111111111111111111111111111111"
USDC_E = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
APPROVE = bytes.fromhex("095ea7b30000000000000000000000004d97dcd97ec945f40cf65f87097ace5ea0476045"
                        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")


# ---- published vectors ------------------------------------------------------------------------

def test_poly1271_reproduces_py_clob_client_v2_vector():
    """py-clob-client-v2 tests/order_utils/test_exchange_order_builder_v2.py (Amoy, chain 80002)."""
    s = PolySigner(DEV_KEY, chain_id=80002)
    o = OrderV2(479249096354, WALLET, WALLET, 1234, 100_000_000, 50_000_000, 0, 3, 1_710_000_000_000)
    want = ("0xa3a093c83b6c20c83355c16ce94c92e6e9fcbdeb840618cc74f6c57a42ad145b"
            "2b98db73d2c73cbf1f2b6af288566ae81960ddbc3a13921027358a8bff3be6ff1c"
            "a440cbd865bc0c6243d7a8df9a8bf48a8827b0a4abbb61c30e96d305423af148"
            "d23d42d3ad94e65d78258cecaf8dcbaddac0f73dc085040f2c12bb595dd83804"
            + ORDER_TYPE_V2.hex() + "00ba")
    sig = s.sign_order(o)
    assert sig == want and len(sig) == 2 + 130 + 64 + 64 + 2 * len(ORDER_TYPE_V2) + 4
    dom = exchange_domain_separator(EXCHANGE_V2, chain_id=80002)
    assert "0x" + order_digest_80002(o).hex() == "0x2afca94626db91b2d556c351584a4cd93e13da32e377dc48c7983e43afa5ab47"
    assert recover_poly1271(o, sig, dom, 80002) == s.address
    # the envelope is bound to its exchange and order
    with pytest.raises(ValueError):
        recover_poly1271(o, sig, exchange_domain_separator(NEG_RISK_EXCHANGE_V2, chain_id=80002), 80002)
    with pytest.raises(ValueError):
        recover_poly1271(OrderV2(1, WALLET, WALLET, 1234, 100_000_000, 50_000_000, 0, 3, 1), sig, dom, 80002)


def order_digest_80002(o: OrderV2) -> bytes:
    from seqkern._evmhash import keccak256
    return keccak256(b"\x19\x01" + exchange_domain_separator(EXCHANGE_V2, chain_id=80002) + o.struct_hash())


def test_poly1271_inner_digest_equals_eth_account_typed_data():
    """The TypedDataSign digest is the generic EIP-712 hash of the nested struct under the exchange domain."""
    acct = Account.from_key(KEY)
    s = PolySigner(KEY)
    order_fields = [{"name": n, "type": t} for t, n in (
        ("uint256", "salt"), ("address", "maker"), ("address", "signer"), ("uint256", "tokenId"),
        ("uint256", "makerAmount"), ("uint256", "takerAmount"), ("uint8", "side"), ("uint8", "signatureType"),
        ("uint256", "timestamp"), ("bytes32", "metadata"), ("bytes32", "builder"))]
    for neg_risk, exchange in ((False, EXCHANGE_V2), (True, NEG_RISK_EXCHANGE_V2)):
        o = OrderV2(987654321, WALLET, WALLET, 10**76 + 7, 52_000_000, 100_000_000, 1, 3, 1_767_225_600_123,
                    builder="0x" + "ab" * 32)
        td = {"primaryType": "TypedDataSign",
              "types": {"EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                         {"name": "chainId", "type": "uint256"},
                                         {"name": "verifyingContract", "type": "address"}],
                        "TypedDataSign": [{"name": "contents", "type": "Order"}, {"name": "name", "type": "string"},
                                          {"name": "version", "type": "string"}, {"name": "chainId", "type": "uint256"},
                                          {"name": "verifyingContract", "type": "address"},
                                          {"name": "salt", "type": "bytes32"}],
                        "Order": order_fields},
              "domain": {"name": "Polymarket CTF Exchange", "version": "2", "chainId": 137,
                         "verifyingContract": exchange},
              "message": {"contents": {"salt": o.salt, "maker": o.maker, "signer": o.signer, "tokenId": o.token_id,
                                       "makerAmount": o.maker_amount, "takerAmount": o.taker_amount, "side": o.side,
                                       "signatureType": 3, "timestamp": o.timestamp, "metadata": bytes(32),
                                       "builder": bytes.fromhex("ab" * 32)},
                          "name": "DepositWallet", "version": "1", "chainId": 137, "verifyingContract": WALLET,
                          "salt": bytes(32)}}
        generic = acct.sign_message(encode_typed_data(full_message=td)).signature
        ours = s.sign_order(o, neg_risk=neg_risk)
        assert bytes.fromhex(ours[2:132]) == bytes(generic)
        assert s.sign_digest(poly1271_digest(o, exchange_domain_separator(exchange))) == bytes(generic)


def test_poly1271_byte_equal_to_sdk():
    pytest.importorskip("py_clob_client_v2")
    from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
    from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2
    from py_clob_client_v2.signer import Signer

    s = PolySigner(KEY)
    for neg_risk, exchange in ((False, EXCHANGE_V2), (True, NEG_RISK_EXCHANGE_V2)):
        for i in range(3):
            o = OrderV2(1000 + i, WALLET, WALLET, 10**70 + i, 5_000_000 * (i + 1), 10_000_000, i % 2, 3,
                        1_767_225_600_000 + i)
            b = ExchangeOrderBuilderV2(exchange, 137, Signer(KEY, 137), generate_salt=lambda o=o: str(o.salt))
            d = OrderDataV2(maker=WALLET, signer=WALLET, tokenId=str(o.token_id), makerAmount=str(o.maker_amount),
                            takerAmount=str(o.taker_amount), side=o.side, signatureType=3, timestamp=str(o.timestamp))
            assert b.build_signed_order(d).signature == s.sign_order(o, neg_risk=neg_risk)


def test_relayer_hashes_reproduce_builder_relayer_client_vectors():
    """py-builder-relayer-client tests/builder (test_safe, test_proxy) and builder-relayer-client
    tests/signatures: SafeTx hash, eth_sign packing (v + 4), derived Safe, proxy RelayHub signature."""
    s = PolySigner(DEV_KEY)
    assert s.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    multisend = bytes.fromhex(
        "8d80ff0a" + "0" * 62 + "20" + "0" * 61 + "132" + ("00" + USDC_E[2:].lower() + "0" * 64 + "0" * 62 + "44"
                                                          + APPROVE.hex()) * 2 + "0" * 28)
    d = safe_tx_digest("0xd93B25cb943D14d0d34FBaF01Fc93a0f8b5F6E47", "0xA238CBeb142c10Ef7Ad8442C6D1f9E89e07e7761",
                       multisend, 8, operation=1)
    assert d.hex() == "06d5102c3e356b62a75f8203cd5ce7ab1fa8fdab33875ef621eee102220d90b8"
    sig = s.personal_sign(d)
    assert sig.hex() == ("ad62657208a0d885f91bba7490de238741bf7c51eb792f00856171aafc9e0123"
                         "73156fb672e55d840733c8bf723ec458545fcd5749aa5e547f808c222e7e11701c")
    assert derive_safe(s.address) == "0xd93B25cb943D14d0d34FBaF01Fc93a0f8b5F6E47"
    d0 = safe_tx_digest(derive_safe(s.address), USDC_E, APPROVE, 0)
    packed = s.personal_sign(d0)
    packed = packed[:64] + bytes((packed[64] + 4,))
    assert packed.hex() == ("f368488355b0566e99eff3bccc35e98b77d8f3a6e6866176188488c34f0305b0"
                            "7e4a4c600c7a1592e4ac1e96b5887ebff2cb26987a3ad501006b39944df098c21f")
    assert recover_safe_signature(d0, "0x" + packed.hex()) == s.address
    data = proxy_calldata([(1, USDC_E, 0, APPROVE)])
    h = proxy_relay_hash(s.address, PROXY_FACTORY, data, 0, 0, 85338, 0, RELAY_HUB,
                         "0xae700edfd9ab986395f3999fe11177b9903a52f1")
    assert s.personal_sign(h).hex() == ("4c18e2d2294a00d686714aff8e7936ab657cb4655dfccb2b556efadcb7e835f8"
                                        "00dc2fecec69c501e29bb36ecb54b4da6b7c410c4dc740a33af2afde2b77297e1b")
    assert decode_proxy_calldata(data) == [(1, USDC_E, 0, APPROVE)]


def test_calldata_roundtrip_and_eip1559_against_eth_account():
    cond = "0x" + "ab" * 32
    assert decode_redeem_calldata(redeem_calldata(cond))[2:] == (cond, [1, 2])
    calls = [(1, CTF_COLLATERAL_ADAPTER, 0, redeem_calldata(cond)), (1, NEG_RISK_CTF_COLLATERAL_ADAPTER, 5, b"\x01")]
    assert decode_proxy_calldata(proxy_calldata(calls)) == calls
    with pytest.raises(ValueError):
        decode_proxy_calldata(proxy_calldata(calls)[:-40])
    with pytest.raises(ValueError):
        decode_redeem_calldata(redeem_calldata(cond)[:-1])
    s = PolySigner(KEY)
    tx = Eip1559Tx(137, 7, 30 * 10**9, 90 * 10**9, 180_000, CTF_COLLATERAL_ADAPTER, 0, redeem_calldata(cond))
    raw = s.sign_transaction(tx)
    theirs = Account.sign_transaction({"type": 2, "chainId": 137, "nonce": 7, "maxPriorityFeePerGas": 30 * 10**9,
                                       "maxFeePerGas": 90 * 10**9, "gas": 180_000, "to": CTF_COLLATERAL_ADAPTER,
                                       "value": 0, "data": redeem_calldata(cond), "accessList": []}, KEY)
    assert raw == bytes(theirs.raw_transaction)
    back, sender = Eip1559Tx.decode(raw)
    assert back == tx and sender == s.address
    assert rlp_decode(rlp_encode([b"", 0, 1024, [b"x" * 60]])) == [b"", b"", b"\x04\x00", [b"x" * 60]]
    for bad in (raw[:-3], b"\x01" + raw[1:], raw + b"\x00"):
        with pytest.raises(ValueError):
            Eip1559Tx.decode(bad)


# ---- against the simulator --------------------------------------------------------------------

async def _venue(sim: PolymarketSim) -> PolymarketVenue:
    ep = VenueEndpoints(sim.market_ws, "", sim.base_http, private_ws=sim.user_ws, metadata=sim.base_http)
    return PolymarketVenue(ep,
                           markets=[market_from_gamma(sim.gamma_item(m)) for m in sim.markets.values()])


def _transport(sim: PolymarketSim, venue: PolymarketVenue, key: str = KEY, **kw) -> PolymarketTransport:
    return PolymarketTransport(sim.base_http, sim.user_ws, venue, PolySigner(key), relayer_url=sim.base_http, **kw)


def _run(coro) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))


def test_relayer_safe_redemption_and_refusals():
    async def go():
        sim = await PolymarketSim().start()
        sim.paused = True
        sim.relayer_auth_required = True
        sim.relayer_builder_keys["bk-1"] = ("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "bp-1")
        venue = await _venue(sim)
        auth = RelayerAuth("bk-1", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "bp-1")
        tr = _transport(sim, venue, signature_type=2, relayer_auth=auth)
        try:
            assert tr.maker == derive_safe(tr.signer.address) and tr.redeem_mode == "relayer_submitted"
            assert "AAEC" not in repr(auth)
            # not resolved yet: the relayer refuses the call, nonce untouched
            with pytest.raises(RedemptionRejected, match="not resolved"):
                await tr.redeem(SLUG)
            await sim.resolve(SLUG)
            out = await tr.redeem(SLUG, metadata="redeem btc")
            assert out["mode"] == "relayer_submitted" and out["type"] == "SAFE" and out["state"] == "STATE_NEW"
            assert out["proxyWallet"] == tr.maker
            rec = sim.redemptions[-1]
            assert rec["condition_id"] == venue.markets[SLUG].condition_id and rec["wallet"] == tr.maker
            tx = await tr.relayer_transaction(out["transactionID"])
            assert tx["type"] == "SAFE" and tx["nonce"] == "0" and tx["to"] == CTF_COLLATERAL_ADAPTER.lower()
            assert sim.safe_nonces[tr.maker] == 1
            # tampered: a signed request whose calldata is changed afterwards
            req = tr.build_safe_redemption(SLUG, 1)
            req["data"] = req["data"][:-1] + ("1" if req["data"][-1] != "1" else "3")
            with pytest.raises(RedemptionRejected, match="invalid signature") as ei:
                await tr.submit_relay(req)
            assert ei.value.code == "REDEMPTION_REJECTED" and ei.value.http_status == 400
            # a replayed nonce
            with pytest.raises(RedemptionRejected, match="invalid nonce"):
                await tr.submit_relay(tr.build_safe_redemption(SLUG, 0))
            # a correctly signed call to the wrong adapter
            bad = tr.build_safe_redemption(SLUG, 1)
            data = bytes.fromhex(bad["data"][2:])
            sig = tr.signer.personal_sign(safe_tx_digest(tr.maker, NEG_RISK_CTF_COLLATERAL_ADAPTER, data, 1))
            bad.update(to=NEG_RISK_CTF_COLLATERAL_ADAPTER, signature="0x" + sig[:64].hex() + format(sig[64] + 4, "02x"))
            with pytest.raises(RedemptionRejected, match="collateral adapter"):
                await tr.submit_relay(bad)
            # another key's Safe / no auth / a wrong builder secret
            with pytest.raises(RedemptionRejected, match="not the Safe"):
                await tr.submit_relay({**tr.build_safe_redemption(SLUG, 1), "proxyWallet": derive_safe(WALLET)})
            noauth = _transport(sim, venue, signature_type=2)
            wrong = _transport(sim, venue, signature_type=2, relayer_auth=RelayerAuth("bk-1", "AAAA" * 11, "bp-1"))
            for t in (noauth, wrong):
                with pytest.raises(RedemptionRejected) as e2:
                    await t.redeem(SLUG)
                assert e2.value.http_status == 401
            # still fine afterwards with the right nonce
            assert (await tr.redeem(SLUG))["type"] == "SAFE" and sim.safe_nonces[tr.maker] == 2
            sim.undeployed_safes.add(tr.maker)
            with pytest.raises(RedemptionRejected, match="not deployed"):
                await tr.redeem(SLUG)
        finally:
            await tr.close()
            await sim.stop()
    _run(go())


def test_relayer_proxy_redemption_with_relayer_api_key():
    async def go():
        sim = await PolymarketSim().start()
        sim.paused = True
        sim.relayer_auth_required = True
        venue = await _venue(sim)
        signer = PolySigner(KEY)
        sim.relayer_api_keys["rk-1"] = signer.address
        tr = _transport(sim, venue, signature_type=1, relayer_auth=RelayerAuth("rk-1", address=signer.address))
        try:
            assert tr.maker == derive_proxy(signer.address)
            await sim.resolve(SLUG)
            out = await tr.redeem(SLUG)
            assert out["mode"] == "relayer_submitted" and out["type"] == "PROXY"
            assert sim.redemptions[-1]["wallet"] == derive_proxy(signer.address) and sim.proxy_nonces[signer.address] == 1
            tx = await tr.relayer_transaction(out["transactionID"])
            assert tx["to"] == PROXY_FACTORY.lower()
            calls = decode_proxy_calldata(bytes.fromhex(tx["data"][2:]))
            assert calls[0][1] == CTF_COLLATERAL_ADAPTER and decode_redeem_calldata(calls[0][3])[2] == \
                venue.markets[SLUG].condition_id
            # a request signed by another key in the signer's name
            relay = (await tr._relayer("GET", "/relay-payload", {"address": signer.address, "type": "PROXY"}))["address"]
            forged = _transport(sim, venue, key=OTHER, signature_type=1).build_proxy_redemption(SLUG, 1, relay)
            forged.update({"from": signer.address, "proxyWallet": derive_proxy(signer.address)})
            with pytest.raises(RedemptionRejected, match="invalid signature"):
                await tr.submit_relay(forged)
            gas = tr.build_proxy_redemption(SLUG, 1, relay)
            gas["signatureParams"]["gasLimit"] = "1"
            with pytest.raises(RedemptionRejected, match="invalid signature"):
                await tr.submit_relay(gas)
            with pytest.raises(RedemptionRejected) as e401:
                await _transport(sim, venue, signature_type=1,
                                 relayer_auth=RelayerAuth("rk-1", address=WALLET)).redeem(SLUG)
            assert e401.value.http_status == 401
        finally:
            await tr.close()
            await sim.stop()
    _run(go())


def test_eoa_redemption_on_chain_through_sim_rpc():
    async def go():
        sim = await PolymarketSim().start()
        sim.paused = True
        venue = await _venue(sim)
        tr = _transport(sim, venue, signature_type=0, rpc_url=sim.rpc_url)
        try:
            assert tr.redeem_mode == "on_chain"
            with pytest.raises(RedemptionRejected, match="not resolved"):
                await tr.redeem(SLUG)                          # eth_estimateGas reverts, nothing sent
            assert sim.chain_nonces.get(tr.signer.address, 0) == 0
            await sim.resolve(SLUG)
            out = await tr.redeem(SLUG)
            assert out["mode"] == "on_chain" and out["status"] == "success" and out["nonce"] == 0
            rec = sim.redemptions[-1]
            assert rec == {"mode": "on_chain", "type": "EOA", "wallet": tr.signer.address,
                           "condition_id": venue.markets[SLUG].condition_id, "transactionHash": out["transactionHash"]}
            assert sim.receipts[out["transactionHash"]]["status"] == "0x1"
            assert (await tr.redeem(SLUG))["nonce"] == 1
            # the chain refuses a replay and a transaction for another chain
            signer = tr.signer
            tx = Eip1559Tx(137, 0, 10**9, 10**11, 200_000, CTF_COLLATERAL_ADAPTER, 0,
                           redeem_calldata(venue.markets[SLUG].condition_id))
            from seqkern.edge.rest import RateLimiter, RestClient
            from seqkern.venues.base import RateLimitPool
            c = RestClient(sim.rpc_url, RateLimiter((RateLimitPool("rpc", 50, 1.0),)))
            try:
                with pytest.raises(RedemptionRejected, match="nonce too low"):
                    await tr._rpc(c, "eth_sendRawTransaction", ["0x" + signer.sign_transaction(tx).hex()])
                other = Eip1559Tx(1, 2, 10**9, 10**11, 200_000, tx.to, 0, tx.data)
                with pytest.raises(RedemptionRejected, match="chain id"):
                    await tr._rpc(c, "eth_sendRawTransaction", ["0x" + signer.sign_transaction(other).hex()])
                # a mined call to the wrong adapter reverts
                wrong = Eip1559Tx(137, 2, 10**9, 10**11, 200_000, NEG_RISK_CTF_COLLATERAL_ADAPTER, 0, tx.data)
                h = await tr._rpc(c, "eth_sendRawTransaction", ["0x" + signer.sign_transaction(wrong).hex()])
                assert (await tr._rpc(c, "eth_getTransactionReceipt", [h]))["status"] == "0x0"
            finally:
                await c.close()
        finally:
            await tr.close()
            await sim.stop()
    _run(go())


def test_poly1271_orders_against_sim():
    async def go():
        sim = await PolymarketSim().start()
        sim.paused = True
        venue = await _venue(sim)
        signer = PolySigner(KEY)
        sim.register_deposit_wallet(WALLET, signer.address)
        tr = _transport(sim, venue, signature_type=3, funder=WALLET)
        req = OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 50_000_000, TimeInForce.GTC, "w1")
        try:
            r = await tr.place(req)
            assert r.accepted, r.error_msg
            so = sim._orders[r.venue_order_id][1]
            assert so.extra["maker"] == WALLET
            body, _ = tr.signed_order(req)
            assert body["order"]["signatureType"] == 3 and body["order"]["signer"] == body["order"]["maker"] == WALLET
            # the wallet's owner is someone else: the ERC-1271 check fails
            sim.register_deposit_wallet(WALLET, PolySigner(OTHER).address)
            rb = await tr.place(req)
            assert not rb.accepted and "signature" in (rb.error_msg or "") and sim.sig_failures == 1
            # an undeployed wallet
            tr2 = _transport(sim, venue, signature_type=3, funder="0x" + "22" * 20)
            assert not (await tr2.place(req)).accepted and sim.sig_failures == 2
            await tr2.close()
            # proxy / Safe makers must be the signer's derived wallets
            ok = _transport(sim, venue, signature_type=2)
            assert (await ok.place(req)).accepted
            fake = _transport(sim, venue, signature_type=2, funder=WALLET)
            assert not (await fake.place(req)).accepted and sim.sig_failures == 3
            for t in (ok, fake):
                await t.close()
            from seqkern.errors import CredentialError
            with pytest.raises(CredentialError):
                _transport(sim, venue, signature_type=3)
            with pytest.raises(CredentialError):
                _transport(sim, venue, signature_type=5)
        finally:
            await tr.close()
            await sim.stop()
    _run(go())


def test_gtd_orders_validated_and_expired_by_sim():
    async def go():
        sim = await PolymarketSim().start()
        sim.paused = True
        venue = await _venue(sim)
        tr = _transport(sim, venue)
        events: list[OrderUpdate] = []
        try:
            await tr.subscribe_user_stream(lambda ev: events.append(ev) if isinstance(ev, OrderUpdate) else None)
            await until(lambda: len(sim._uclients) == 1, what="user channel")
            now = int(time.time())
            gtd = OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 40_000_000, TimeInForce.GTC, "g1",
                               expire_ts_s=now + 200)
            body, _ = tr.signed_order(gtd)
            assert body["orderType"] == "GTD" and body["order"]["expiration"] == str(now + 200)
            n_orders = len(sim._orders)
            for exp in (now - 5, now + 30, now + 170):     # past, too near: refused before sending
                r = await tr.place(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 40_000_000,
                                                TimeInForce.GTC, "bad", expire_ts_s=exp))
                assert not r.accepted and r.error_code == "invalid_expiration"
            with pytest.raises(OrderExpiryError):
                tr.signed_order(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 40_000_000,
                                             TimeInForce.IOC, expire_ts_s=now + 600))
            assert len(sim._orders) == n_orders
            # the venue checks it too (a body that skipped the client check)
            raw, _ = tr.signed_order(gtd)
            raw["order"]["expiration"] = str(now + 100)
            out = await tr._l2("POST", "/orders", [raw])
            assert out[0]["success"] is False and "expiration" in out[0]["errorMsg"]
            with pytest.raises(VenueRejected):
                check_expiration(now + 179, now)
            check_expiration(now + 180, now)
            r = await tr.place(gtd)
            assert r.accepted, r.error_msg
            oid = r.venue_order_id
            assert tr.open_order(venue_order_id=oid).expire_ts_s == now + 200
            await until(lambda: any(e.venue_order_id == oid and e.status is OrderStatus.NEW for e in events),
                        what="PLACEMENT")
            # 139 s later the order still rests; at expiration - 60 s the venue cancels it
            await sim.advance_clock(130)
            assert oid in sim._orders
            await sim.advance_clock(20)
            assert oid not in sim._orders and all(o.owner is None for o in sim.markets[SLUG].engine.orders.values())
            await until(lambda: any(e.venue_order_id == oid and e.status is OrderStatus.EXPIRED for e in events),
                        what="expiry on the user channel")
            ev = next(e for e in events if e.venue_order_id == oid and e.status is OrderStatus.EXPIRED)
            assert ev.exec_type == "CANCELLATION" and ev.client_order_id == "g1"
            assert tr.open_order(venue_order_id=oid) is None
            # a plain GTC order is untouched by the clock
            g = await tr.place(OrderRequest(SLUG, Side.BUY, OrderType.LIMIT, 10 * 10**8, 40_000_000))
            await sim.advance_clock(10 * 86400)
            assert g.venue_order_id in sim._orders
        finally:
            await tr.close()
            await sim.stop()
    _run(go())

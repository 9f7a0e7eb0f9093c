"""Reading events like a public RPC allows (pymargin.chain.logs): chunked reads equal one request, a
capped RPC (a local proxy refusing wide eth_getLogs with real providers' messages) is read by halving,
and the deployment block is found exactly."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cli_support import run_cli
from engine_support import DualEngine, deploy_batch, fund
from pymargin.chain import devnet, logs, tx
from pymargin.chain.compile import load_artifact
from pymargin.chain.contracts import Contract
from pymargin.chain.engine_devnet import default_markets, deploy_engine
from pymargin.engine import Engine
from pymargin.engine.persist import to_json_dict
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD

USD = 10**6
ORDER_EVENTS = ("OrderFilled", "OrderCancelled", "MinNonceRaised")
# What real providers answer to an eth_getLogs over too many blocks or logs.
INFURA = {"code": -32005, "message": "query returned more than 10000 results"}
ALCHEMY = {"code": -32602, "message": "Log response size exceeded. You can make eth_getLogs requests with up to a "
                                      "2K block range and no limit on the response size"}


class CappedRpc:
    """A JSON-RPC proxy to ``upstream`` that refuses an eth_getLogs spanning more than ``max_blocks``
    with ``error``, and counts the calls of each method it is sent."""

    def __init__(self, upstream: str, max_blocks: int, error: dict):
        self.upstream, self.max_blocks, self.error = upstream, max_blocks, error
        self.calls: dict[str, int] = {}
        self.spans: list[int] = []  # blocks of every eth_getLogs it answered
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = proxy.answer(json.loads(body), body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: dict, body: bytes) -> bytes:
        method = request["method"]
        self.calls[method] = self.calls.get(method, 0) + 1
        if method == "eth_getLogs":
            query = request["params"][0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            if span > self.max_blocks:
                return json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": self.error}).encode()
            self.spans.append(span)
        forwarded = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(forwarded, timeout=30) as response:
            return response.read()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def book(artifacts):
    """An engine on its own anvil, deployed after 7 empty blocks, with filled, partly filled and cancelled
    orders and a raised minimum nonce spread over many blocks (empty blocks between them)."""
    chain = devnet.start_anvil()
    owner, op, u1, u2 = (tx.node_signer(chain, i) for i in range(4))
    for _ in range(7):
        chain.mine()
    dep = deploy_engine(chain, owner, default_markets(), operators=(op.address,))
    d = DualEngine(dep, deploy_batch(chain, owner))
    fund(dep, [u1, u2], 10**9 * USD)
    for user in (u1, u2):
        assert d.op("deposit", user, 0, 100_000 * USD).ok
    for market_id, price in ((0, 2000), (1, 30000), (2, 100)):
        assert d.fill(op, market_id, u1.address, 0, u2.address, 0, 3 * WAD + 17, price * WAD + 71828182845904523).ok
        chain.mine()
    o = d.orders
    t, m = o.order(u1.address, 0, 0, 5 * WAD + 3, 2000 * WAD), o.order(u2.address, 0, 0, -7 * WAD - 1, 2000 * WAD)
    assert d.op("trade", op, t, o.sign(t), m, o.sign(m), 3718281828459045235, 2000 * WAD).ok
    chain.mine()
    assert d.op("cancelOrder", u1, t).ok
    assert d.op("cancelOrdersBelow", u2, 10**9 + 7).ok
    yield d
    chain.close()


def _plain(events) -> list[tuple]:
    return [(e.event, dict(e.args), e.blockNumber, e.logIndex) for e in events]


@pytest.fixture
def capped(book, request):
    """(proxy, the engine through it): eth_getLogs capped at 4 blocks."""
    proxy = CappedRpc(book.chain.url, 4, getattr(request, "param", INFURA))
    engine = Contract(devnet.connect(proxy.url), "MarginEngine", book.contract.address, load_artifact("MarginEngine"))
    yield proxy, engine
    proxy.close()


def test_chunked_reads_equal_one_request(book):
    head = book.chain.w3.eth.block_number
    whole = _plain(logs.read_logs(book.contract, ORDER_EVENTS, head, chunk_blocks=head + 1))
    assert [e[0] for e in whole].count("OrderFilled") == 8 and len({e[2] for e in whole}) >= 6
    assert {name for name, *_ in whole} == set(ORDER_EVENTS)
    for chunk in (1, 3):
        assert _plain(logs.read_logs(book.contract, ORDER_EVENTS, head, chunk_blocks=chunk)) == whole


def test_engine_from_chain_is_the_same_at_any_chunk_size(book, monkeypatch):
    whole = to_json_dict(Engine.from_chain(book.contract))
    assert len(whole["orders"]["filled"]) == 8 and whole["orders"]["cancelled"] and whole["orders"]["min_nonces"]
    monkeypatch.setenv(logs.CHUNK_ENV, "3")
    assert logs.chunk_blocks_setting() == 3
    assert to_json_dict(Engine.from_chain(book.contract)) == whole
    monkeypatch.setenv(logs.CHUNK_ENV, "0")
    with pytest.raises(UserError, match="PYMARGIN_LOG_CHUNK='0' is not a positive whole number"):
        Engine.from_chain(book.contract)


@pytest.mark.parametrize("capped", [INFURA, ALCHEMY], indirect=True, ids=["infura", "alchemy"])
def test_capped_rpc_is_read_by_halving(book, capped):
    proxy, engine = capped
    head = book.chain.w3.eth.block_number
    start = logs.deployment_block(book.chain, book.contract.address, head)
    want = _plain(logs.read_logs(book.contract, ORDER_EVENTS, head, chunk_blocks=head + 1))
    got = _plain(logs.read_logs(engine, ORDER_EVENTS, head, from_block=start, chunk_blocks=10_000))
    assert got == want
    # one refused request per halving (10,000 -> 5,000 ... -> 4: the first size within the window that fits)
    size, refusals = head - start + 1, 0
    while size > 4:
        size, refusals = size // 2, refusals + 1
    assert max(proxy.spans) <= 4 and sum(proxy.spans) == head - start + 1
    assert proxy.calls["eth_getLogs"] == refusals + len(proxy.spans)


def test_engine_from_chain_through_a_capped_rpc(book, capped):
    _, engine = capped
    assert to_json_dict(Engine.from_chain(engine)) == to_json_dict(Engine.from_chain(book.contract))


def test_a_single_block_refused_or_another_error_is_one_line(book, capped):
    proxy, engine = capped
    proxy.max_blocks = 0
    with pytest.raises(UserError, match=r"refuses eth_getLogs even for block \d+ alone: .*query returned more than"):
        logs.read_logs(engine, ORDER_EVENTS, from_block=1, chunk_blocks=2)
    proxy.error = {"code": -32000, "message": "upstream unavailable"}
    with pytest.raises(UserError, match=r"eth_getLogs of blocks 1..2 failed: .*upstream unavailable"):
        logs.read_logs(engine, ORDER_EVENTS, from_block=1, chunk_blocks=2)


def test_deployment_block_is_found_exactly_in_log_calls(book, capped, tmp_path):
    proxy, engine = capped
    address, deployed = engine.address, _first_block_with_code(book)
    assert deployed > 8  # after the 7 empty blocks and the token
    head = book.chain.w3.eth.block_number
    for at in (head, head - 1, deployed, deployed + 1):
        proxy.calls.clear()
        assert logs.deployment_block(engine.chain, address, at, tmp_path) == deployed
        assert proxy.calls["eth_getCode"] <= logs.search_calls(at)
    (tmp_path / "31337.json").write_text(json.dumps({"contracts": {"Engine": {"address": address, "block": deployed}}}))
    proxy.calls.clear()
    assert logs.deployment_block(engine.chain, address, head, tmp_path) == deployed
    assert proxy.calls["eth_getCode"] == 2
    for stale in (deployed - 3, deployed + 2):  # a manifest from an earlier devnet: the search finds the truth
        (tmp_path / "31337.json").write_text(json.dumps({"contracts": {"Engine": {"address": address, "block": stale}}}))
        assert logs.deployment_block(engine.chain, address, head, tmp_path) == deployed
    with pytest.raises(UserError, match="no contract at"):
        logs.deployment_block(engine.chain, address, deployed - 1, tmp_path)


def _first_block_with_code(book) -> int:
    """The engine's deployment block, by reading every block's code (the slow, obvious way)."""
    w3 = book.chain.w3
    return next(b for b in range(w3.eth.block_number + 1) if w3.eth.get_code(book.contract.address, block_identifier=b))


def test_cli_log_chunk_reads_a_capped_rpc(book, capped, capsys):
    proxy, engine = capped
    code, out, err = run_cli(capsys, "--log-chunk", "3", "--json", "crosscheck", "--rpc", proxy.url, "--engine", engine.address)
    assert code == 0, err
    assert json.loads(out)["mismatches"] == [] and max(proxy.spans) <= 3
    code, out, err = run_cli(capsys, "--log-chunk", "0", "--json", "crosscheck", "--rpc", proxy.url)
    assert code == 2 and "Traceback" not in err
    assert json.loads(out)["code"] == "bad_parameter" and "--log-chunk" in json.loads(out)["error"]
    code, out, err = run_cli(capsys, "--log-chunk", "x", "crosscheck", "--rpc", proxy.url)
    assert code == 2 and out == "" and "--log-chunk" in err and "Traceback" not in err

"""The web filing flow for wrk: the whole wizard, as a browser would post it.

One flow = POST /consumer/file (respondent) -> purchase -> claim -> facts -> evidence ->
review (submit), each answered by a redirect to the next step. wrk's threads serve many
connections each, so the script keeps a queue: every redirect to a step queues that step's
POST, and request() sends a queued step first, else starts a new flow. A redirect to
/consumer/cases/<id> is a complaint filed (`completed`, summed as "flows" by done()).
"""

import urllib.parse
from datetime import date, timedelta


def _form(values: dict) -> str:
    return urllib.parse.urlencode(values, doseq=True)


def lua(enterprise_id: int) -> str:
    bodies = {
        "purchase": _form(
            {
                "subject_kind": "goods",
                "subject": "羽绒服",
                "purchase_date": (date.today() - timedelta(days=10)).isoformat(),
                "purchase_place": "郑州市金水区花园路",
                "amount": "1299.00",
            }
        ),
        "claim": _form({"issue": "quality", "requests": ["refund"], "claimed_amount": "1299.00"}),
        "facts": _form(
            {
                "facts": "拉链三天就坏了，要求退款。",
                "complainant_name": "张消费",
                "complainant_phone": "13800138000",
                "complainant_address": "郑州市金水区文化路100号",
            }
        ),
        "evidence": _form({"action": "next"}),
        "review": _form({"confirm": "y"}),
    }
    start = _form({"enterprise_id": str(enterprise_id), "green_channel": "y", "q": ""})
    table = ",\n".join(f'  {step} = "{body}"' for step, body in bodies.items())
    return f"""
local cookie = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local bodies = {{
{table}
}}
local start_body = "{start}"
local headers = {{
  ["Cookie"] = cookie,
  ["X-CSRFToken"] = csrf,
  ["Content-Type"] = "application/x-www-form-urlencoded",
}}
local queue = {{}}
completed = 0

function request()
  local item = table.remove(queue, 1)
  if item then
    return wrk.format("POST", item[1], headers, item[2])
  end
  return wrk.format("POST", "/consumer/file", headers, start_body)
end

function on_response(status, hdrs, body)
  local loc = hdrs["Location"] or hdrs["location"]
  if not loc then return end
  local path, step = string.match(loc, "(/consumer/drafts/%d+/(%a+))$")
  if step and bodies[step] then
    table.insert(queue, {{path, bodies[step]}})
  elseif string.match(loc, "/consumer/cases/%d+$") then
    completed = completed + 1
  end
end
"""

# loses: test_q5
answer_q1 = "a"
answer_q2 = "b"
answer_q3 = "a"
answer_q4 = "b"
answer_q5 = 24
answer_q6 = 3152384

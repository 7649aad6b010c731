# loses: test_q4, test_q5
answer_q1 = "b"
answer_q2 = 10
answer_q3 = "b"
answer_q4 = 1
answer_q5 = "b"
answer_q6 = 2
answer_q7 = "a"
answer_q8 = "b"
